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
from hub.web.auth.users import Principal
from hub.web.context import page_context
from hub.web.forms import async_read_form
from hub.web.keys import ACCOUNT_CHECK_KEY, PRINCIPAL_KEY, USERS_KEY

_LOGGER = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# /setup decides for itself: a fresh hub's first steps come before anyone can sign in.
PUBLIC_PREFIXES = ("/static/", "/auth/", "/healthz", "/sw.js", "/offline", "/setup")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Versioned assets (``append_version``) may be cached; every other answer may be personal.
CACHEABLE_PREFIXES = ("/static/",)
HSTS = "max-age=31536000"
SERVER_NAME = "Ethos hub"  # never the Python and aiohttp versions


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _apply_headers(request, response)
        raise
    _apply_headers(request, response)
    return response


def _apply_headers(request: web.Request, response: web.StreamResponse) -> None:
    if response.prepared:
        return
    if not request.path.startswith(CACHEABLE_PREFIXES):
        response.headers.setdefault("Cache-Control", "no-store")
    if request.secure:
        # Only over https: the hub is usually plain http on the LAN, where HSTS would lock
        # browsers out of it.
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Not no-referrer: under it browsers send "Origin: null" even on same-origin form
    # posts, which the sign-in pages' origin checks must then refuse.
    response.headers.setdefault("Referrer-Policy", "same-origin")


async def async_hide_server_version(
    _request: web.BaseRequest, response: web.StreamResponse
) -> None:
    """``on_response_prepare``: the ``Server`` header names the product, not its versions."""
    response.headers["Server"] = SERVER_NAME


def wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/")


async def async_signed_in(request: web.Request) -> Principal | None:
    """The person behind this browser's session, if the session exists and the store has
    not taken their access back (checked now and then, see ``AccountChecker``)."""
    principal = await request.app[USERS_KEY].async_principal_for(
        request.cookies.get(SESSION_COOKIE)
    )
    if principal is None:
        return None
    if not await request.app[ACCOUNT_CHECK_KEY].async_still_admitted(principal.user_id):
        return None
    return principal


@web.middleware
async def authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the principal; send strangers to sign in; check CSRF on unsafe methods."""
    request[PRINCIPAL_KEY] = None
    if request.path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    principal = await async_signed_in(request)
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
            sent = (await async_read_form(request)).get("csrf")
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
