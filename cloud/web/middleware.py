"""Cross-cutting HTTP behaviour: security and cache headers, strict form reading, CSRF, and
errors users can read."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from cloud.domain import InputErrors
from cloud.security import new_token, sign, verify_signature
from cloud.web.forms import FORM_TYPES, MalformedForm, async_check_form_body, malformed_form_error
from cloud.web.keys import SETTINGS

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

CSRF_COOKIE = "ethos_csrf"
NEW_CSRF_COOKIE = web.RequestKey("ethos_new_csrf_cookie", str)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_PURPOSE = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# Nothing on our pages comes from, or goes to, another host.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# Production insists on an https base URL, so browsers may be told to never use plain http.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"
# Who we are, without the versions an attacker would look up (aiohttp sends both).
SERVER_NAME = "Ethos"
# Pages carry the visitor's CSRF token and often their account, orders or devices, and API
# answers are personal: nothing is stored by browsers or proxies unless a handler says
# so (discovery and keys are public). Only the static files of the app shell are cached.
DEFAULT_CACHE_CONTROL = "no-store"
CACHEABLE_PREFIXES = ("/static/",)
# The attributes the handler markers below set, and the middlewares read.
_CSRF_EXEMPT = "__ethos_csrf_exempt__"
_NO_PAGE = "__ethos_answers_no_page__"


def csrf_exempt(handler: Handler) -> Handler:
    """Mark a handler that authenticates requests otherwise (signatures, client credentials)."""
    setattr(handler, _CSRF_EXEMPT, True)
    return handler


def is_api_request(request: web.Request) -> bool:
    return request.path.startswith(("/api/", "/oauth/", "/webhooks/", "/.well-known/"))


def csrf_token(request: web.Request) -> str:
    """The token forms must echo; issues the CSRF cookie on first use."""
    secret = request.app[SETTINGS].secret_key
    cookie = request.cookies.get(CSRF_COOKIE) or request.get(NEW_CSRF_COOKIE)
    if not cookie:
        cookie = new_token()
        request[NEW_CSRF_COOKIE] = cookie
    return sign(secret, CSRF_PURPOSE, cookie)


async def _check_csrf(request: web.Request, handler: Handler) -> None:
    if request.method in SAFE_METHODS or getattr(handler, _CSRF_EXEMPT, False):
        return
    if request.match_info.http_exception is not None:
        return  # no route takes this request: its 404 or 405 says more than a CSRF refusal
    origin = request.headers.get("Origin")
    expected = urlsplit(request.app[SETTINGS].base_url)
    if origin and origin != "null":
        parts = urlsplit(origin)
        if (parts.scheme, parts.netloc) not in {
            (expected.scheme, expected.netloc),
            (request.scheme, request.host),
        }:
            raise web.HTTPForbidden(text="cross-site request refused")
    if request.content_type == "application/json":
        # Browsers cannot send a cross-site JSON body without a CORS preflight we never allow.
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in FORM_TYPES:
        sent = str((await request.post()).get(CSRF_FIELD, ""))
    if (
        not cookie
        or not sent
        or not verify_signature(request.app[SETTINGS].secret_key, CSRF_PURPOSE, cookie, sent)
    ):
        raise web.HTTPForbidden(
            text="This form has expired or was not sent by our page. Go back, reload and retry."
        )


def _error_response(request: web.Request, status: int, message: str, **extra: Any) -> web.Response:
    if is_api_request(request) or request.headers.get("Accept", "").startswith("application/json"):
        return web.json_response({"error": message, **extra}, status=status)
    return aiohttp_jinja2.render_template(
        "error.html", request, {"status": status, "message": message}, status=status
    )


MESSAGES = {
    400: "The request could not be understood.",
    403: "You are not allowed to do that.",
    404: "There is nothing here.",
    405: "That method is not allowed here.",
    413: "What you sent is too large.",
    415: "That content type is not accepted here.",
    500: "Something went wrong on our side. Nothing you sent was lost; please try again.",
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if (
            exc.status < 400
            or exc.content_type == "application/json"
            or (exc.body and (exc.content_type == "text/html"))
        ):
            raise
        text = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else None
        response = _error_response(
            request, exc.status, text or MESSAGES.get(exc.status, exc.reason)
        )
        for name in ("Retry-After", "Allow", "WWW-Authenticate", "Location"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except InputErrors as exc:
        return _error_response(request, 422, "Some fields need attention.", fields=exc.fields)
    except Exception:
        _LOGGER.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response(request, 500, MESSAGES[500])


@web.middleware
async def form_body_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every posted form is read strictly once, before CSRF and handlers: 400 if unreadable."""
    try:
        await async_check_form_body(request)
    except MalformedForm as err:
        raise malformed_form_error(request, str(err)) from err
    return await handler(request)


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    await _check_csrf(request, handler)
    return await handler(request)


async def add_response_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response the app sends (raised redirects and errors included): security
    headers, HSTS in production, no-store unless said otherwise, a versionless Server."""
    headers = response.headers
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if request.app[SETTINGS].production:
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    if not request.path.startswith(CACHEABLE_PREFIXES):
        headers.setdefault("Cache-Control", DEFAULT_CACHE_CONTROL)
    headers["Server"] = SERVER_NAME


@web.middleware
async def csrf_cookie_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: a CSRF cookie issued while rendering a form is set on the response."""
    response = await handler(request)
    new_cookie = request.get(NEW_CSRF_COOKIE)
    if new_cookie and not response.prepared:
        response.set_cookie(
            CSRF_COOKIE,
            new_cookie,
            httponly=True,
            samesite="Strict",
            secure=request.app[SETTINGS].secure_cookies,
            path="/",
        )
    return response


MIDDLEWARES = (csrf_cookie_middleware, error_middleware, form_body_middleware, csrf_middleware)


def answers_no_page(handler: H) -> H:
    """Marks a handler that never renders a page (JSON answers, webhooks, probes): requests
    to it skip gathering the pages' template context."""
    setattr(handler, _NO_PAGE, True)
    return handler


def marked_no_page(handler: object) -> bool:
    """Whether `handler` was marked `answers_no_page`."""
    return bool(getattr(handler, _NO_PAGE, False))


@web.middleware
async def page_context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Innermost: what pages' templates may use, from the app's context processors (the
    areas add theirs), gathered before the handler renders, since rendering is synchronous;
    not for handlers marked `answers_no_page`, among them the paths hubs and BTCPay call
    the most."""
    if not marked_no_page(request.match_info.handler):
        context: dict[str, Any] = {}
        request[aiohttp_jinja2.REQUEST_CONTEXT_KEY] = context
        for processor in request.app[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY]:
            context.update(await processor(request))
    return await handler(request)
