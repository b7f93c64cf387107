"""What every page template gets: the signed-in person, their CSRF token, a permission test,
the integrations' navigation links."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.web.authz import Action, refusal
from hub.web.keys import HUB_KEY, PRINCIPAL_KEY
from hub.web.nav import visible_nav_links


def page_context(request: web.Request, **values: Any) -> dict[str, Any]:
    principal = request.get(PRINCIPAL_KEY)
    return {
        "principal": principal,
        "csrf": principal.csrf_token if principal else "",
        "can": lambda action: refusal(principal, Action(action)) is None,
        # What the hub cannot write (a full disk), shown to whoever is signed in.
        "write_problems": request.app[HUB_KEY].write_problems.messages() if principal else [],
        # Integrations' links, only while their pages answer (hub/web/nav.py).
        "nav_links": visible_nav_links(request.app) if principal else [],
        **values,
    }
