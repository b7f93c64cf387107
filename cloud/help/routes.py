"""Help and legal pages, linked from every page's footer.

The privacy page quotes the store's own settings (session and token lifetimes, how long a
mailed link works, when sign-in counters are forgotten), so it cannot drift from them.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from cloud.accounts import mails, throttle
from cloud.web.keys import SETTINGS

PAGES = {
    "/help": ("help/help.html", "help"),
    "/privacy": ("help/privacy.html", "privacy"),
    "/terms": ("help/terms.html", "terms"),
}


def _context(request: web.Request) -> dict[str, object]:
    settings = request.app[SETTINGS]
    return {
        "session_days": settings.session_days,
        "link_hours": mails.CONFIRM_HOURS,
        "throttle_hours": int(throttle.ACCOUNT_POLICY.forget_after.total_seconds() // 3600),
        "refresh_days": settings.oauth.refresh_token_days,
        "access_minutes": max(1, settings.oauth.access_token_seconds // 60),
    }


def _page(template: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return aiohttp_jinja2.render_template(template, request, _context(request))

    return handler


def setup(app: web.Application) -> None:
    for path, (template, name) in PAGES.items():
        app.router.add_get(path, _page(template), name=name)
