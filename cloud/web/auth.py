"""Browser sessions: the cookie, the current user, signing in and out."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from cloud.accounts import service
from cloud.accounts.models import User
from cloud.web.keys import DB, SETTINGS

SESSION_COOKIE = "ethos_session"
_USER = web.RequestKey("ethos_user", object)


async def current_user(request: web.Request) -> User | None:
    """The signed-in user, looked up once per request (and only when a cookie is sent)."""
    if _USER in request:
        return request[_USER]
    raw = request.cookies.get(SESSION_COOKIE)
    user = None
    if raw:
        async with request.app[DB]() as session:
            user = await service.session_user(session, raw)
    request[_USER] = user
    return user


async def require_user(request: web.Request) -> User:
    """The signed-in user, or a redirect to the login page that comes back here."""
    user = await current_user(request)
    if user is None:
        if request.path.startswith("/api/"):
            raise web.HTTPUnauthorized(
                text="Sign in first.", headers={"WWW-Authenticate": 'Bearer realm="ethos"'}
            )
        raise web.HTTPSeeOther(f"/account/login?{urlencode({'next': request.path_qs})}")
    return user


def safe_next(target: str | None) -> str:
    """Only plain local paths are followed after sign-in (no open redirects), else "/".

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
    `/<TAB>/evil.example` or `/\\evil.example` would leave the site: only printable ASCII
    without backslashes is accepted (our own links are percent-encoded), it must start
    with one slash, and it must parse with neither a scheme nor a host.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or not all("!" <= char <= "~" for char in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


async def sign_in(request: web.Request, response: web.StreamResponse, user: User) -> None:
    """Start a fresh session: any old session id is dropped, a new one issued."""
    settings = request.app[SETTINGS]
    assert user.id is not None
    async with request.app[DB]() as session, session.begin():
        await service.end_session(session, request.cookies.get(SESSION_COOKIE))
        raw = await service.create_session(session, user.id, timedelta(days=settings.session_days))
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
        path="/",
    )
    request[_USER] = user


async def sign_out(request: web.Request, response: web.StreamResponse) -> None:
    async with request.app[DB]() as session, session.begin():
        await service.end_session(session, request.cookies.get(SESSION_COOKIE))
    response.del_cookie(SESSION_COOKIE, path="/")
    request[_USER] = None


def client_address(request: web.Request) -> str:
    """The address a request comes from. Behind trusted reverse proxies (ETHOS_TRUSTED_PROXIES)
    that is the right-most X-Forwarded-For hop that is not one of them: hops further left
    were written by the client and could be anything."""
    remote = request.remote or "unknown"
    trusted = request.app[SETTINGS].trusted_proxies
    if not trusted or not _within(_ip(remote), trusted):
        return remote
    hops = [
        hop.strip() for hop in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")
    ]
    for hop in reversed([hop for hop in hops if hop]):
        ip = _ip(hop)
        if ip is None:
            return remote
        if not _within(ip, trusted):
            return hop
    return remote


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
    networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> bool:
    return ip is not None and any(ip in network for network in networks)
