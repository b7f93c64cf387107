"""Security headers, session lookup, CSRF check and friendly errors for every request."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from hub.core.errors import HubError, ServiceNotFound
from hub.web.auth.const import SESSION_COOKIE
from hub.web.context import page_context
from hub.web.keys import PRINCIPAL_KEY, USERS_KEY

_LOGGER = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PUBLIC_PREFIXES = ("/static/", "/auth/", "/healthz", "/sw.js", "/offline")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _apply_headers(response)
        raise
    _apply_headers(response)
    return response


def _apply_headers(response: web.StreamResponse) -> None:
    if response.prepared:
        return
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Not no-referrer: under it browsers send "Origin: null" even on same-origin form
    # posts, which the sign-in pages' origin checks must then refuse.
    response.headers.setdefault("Referrer-Policy", "same-origin")


def wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/")


@web.middleware
async def authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the principal; send strangers to sign in; check CSRF on unsafe methods."""
    request[PRINCIPAL_KEY] = None
    if request.path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    principal = await request.app[USERS_KEY].async_principal_for(
        request.cookies.get(SESSION_COOKIE)
    )
    if principal is None:
        if wants_json(request):
            raise web.HTTPUnauthorized(
                text='{"error": "sign in first"}', content_type="application/json"
            )
        raise web.HTTPFound(f"/auth/login?next={quote(request.path_qs, safe='')}")
    request[PRINCIPAL_KEY] = principal
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("X-CSRF-Token")
        if sent is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            sent = (await request.post()).get("csrf")
        if not isinstance(sent, str) or not hmac.compare_digest(sent, principal.csrf_token):
            raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the page")
    return await handler(request)


@web.middleware
async def friendly_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """User mistakes become 4xx pages or JSON; only real bugs are 500s (and logged)."""
    try:
        return await handler(request)
    except ServiceNotFound as err:
        return _error(request, 404, str(err))
    except HubError as err:
        status = 503 if type(err).__name__ == "BrokerUnavailable" else 400
        return _error(request, status, str(err))
    except web.HTTPException as exc:
        if exc.status >= 400 and not wants_json(request) and exc.content_type == "text/plain":
            return _error(request, exc.status, exc.text or exc.reason)
        raise


def _error(request: web.Request, status: int, message: str) -> web.StreamResponse:
    if wants_json(request):
        return web.json_response({"error": message}, status=status)
    response = aiohttp_jinja2.render_template(
        "error.html", request, page_context(request, status=status, message=message)
    )
    response.set_status(status)
    return response
