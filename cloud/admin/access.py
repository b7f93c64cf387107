"""Who may use the console: the Authorizer decides the action, then the second factor.

Every console handler starts with ``await require_operator(request, action)``. A visitor
who is not signed in goes to the sign-in page; a signed-in account that is not an operator
(or a bearer token, which console routes never read) is refused by the Authorizer; an
operator whose session has not passed TOTP goes to enrolment or to the code page first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from cloud.accounts.sessions import SESSION_COOKIE, require_user
from cloud.admin import operators
from cloud.admin.nav import ADMIN_NAV
from cloud.authz import Principal, authorize
from cloud.domain import Refusal, RefusedError
from cloud.web.keys import DB

ENROL_PATH = "/admin/totp/enrol"
VERIFY_PATH = "/admin/verify"


def safe_next(value: str | None) -> str:
    """Where to go after the second factor: a console path only, never another site."""
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin"


async def require_signed_in_operator(request: web.Request, action: str = "admin.view") -> Principal:
    """The operator, before the second factor is checked (enrolment and code pages)."""
    await require_user(request)
    return await authorize(request, action)


async def require_operator(request: web.Request, action: str) -> Principal:
    """The operator allowed to take `action`, whose session passed the second factor."""
    principal = await require_signed_in_operator(request, action)
    token = request.cookies.get(SESSION_COOKIE, "")
    async with request.app[DB]() as session:
        state = await operators.enrolment(session, principal.user_id)
        verified = state is operators.Enrolment.CONFIRMED and await operators.session_verified(
            session, token, principal.user_id
        )
    if verified:
        return principal
    target = ENROL_PATH if state is not operators.Enrolment.CONFIRMED else VERIFY_PATH
    if request.method != "GET":
        raise web.HTTPForbidden(text="Enter your second-factor code first, then try again.")
    raise web.HTTPSeeOther(f"{target}?{urlencode({'next': request.path_qs})}")


def render_admin(
    request: web.Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
) -> web.Response:
    """Render a console page (its template extends admin/base.html) with the navigation."""
    return aiohttp_jinja2.render_template(
        template,
        request,
        {"admin_nav": request.app.get(ADMIN_NAV, []), **context},
        status=status,
    )


def refusal_error(refusal: Refusal) -> web.HTTPException:
    """The HTTP error to raise for a refused operator action (its message is shown)."""
    errors: dict[int, type[web.HTTPException]] = {
        400: web.HTTPBadRequest,
        403: web.HTTPForbidden,
        404: web.HTTPNotFound,
        409: web.HTTPConflict,
        422: web.HTTPUnprocessableEntity,
    }
    return errors.get(refusal.status, web.HTTPConflict)(text=refusal.message)


def raise_refused(err: RefusedError) -> None:
    raise refusal_error(err.refusal) from err
