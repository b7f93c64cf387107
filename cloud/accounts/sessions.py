"""Browser sessions of accounts: the cookie, the current user, signing in and out.

The session rows live with the accounts; the Authorizer reaches them only through
`session_principal`, registered as its session resolver by the accounts area.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.models import User, WebSession
from cloud.authz import SESSION_SCOPES, Principal
from cloud.db import utcnow
from cloud.security import new_token, token_hash
from cloud.web.keys import DB, SETTINGS

SESSION_COOKIE = "ethos_session"
_USER = web.RequestKey("ethos_user", object)


async def create_session(session: AsyncSession, user_id: int, lifetime: timedelta) -> str:
    """Start a new browser session (a new id at every sign-in); return the cookie token."""
    raw = new_token()
    session.add(
        WebSession(id_hash=token_hash(raw), user_id=user_id, expires_at=utcnow() + lifetime)
    )
    return raw


async def session_user(session: AsyncSession, raw: str | None) -> User | None:
    if not raw:
        return None
    row = await session.get(WebSession, token_hash(raw))
    if row is None or row.expires_at <= utcnow():
        return None
    return await session.get(User, row.user_id)


async def end_session(session: AsyncSession, raw: str | None) -> None:
    if raw:
        await session.execute(delete(WebSession).where(col(WebSession.id_hash) == token_hash(raw)))


async def current_user(request: web.Request) -> User | None:
    """The signed-in user, looked up once per request (and only when a cookie is sent)."""
    if _USER in request:
        return request[_USER]  # type: ignore[return-value]
    raw = request.cookies.get(SESSION_COOKIE)
    user = None
    if raw:
        async with request.app[DB]() as session:
            user = await session_user(session, raw)
    request[_USER] = user
    return user


async def session_principal(request: web.Request) -> Principal | None:
    """The Authorizer's session resolver: a signed-in browser may do all its user may do."""
    user = await current_user(request)
    if user is None or user.id is None:
        return None
    return Principal(user.id, user.email, SESSION_SCOPES, operator=user.is_operator)


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


async def sign_in(request: web.Request, response: web.StreamResponse, user: User) -> None:
    """Start a fresh session: any old session id is dropped, a new one issued."""
    settings = request.app[SETTINGS]
    assert user.id is not None
    async with request.app[DB]() as session, session.begin():
        await end_session(session, request.cookies.get(SESSION_COOKIE))
        raw = await create_session(session, user.id, timedelta(days=settings.session_days))
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
        await end_session(session, request.cookies.get(SESSION_COOKIE))
    response.del_cookie(SESSION_COOKIE, path="/")
    request[_USER] = None
