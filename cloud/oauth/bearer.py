"""Bearer access tokens to principals, for the Authorizer (`BEARER_RESOLVER`)."""

from __future__ import annotations

from aiohttp import web

from cloud.authz import Principal
from cloud.oauth import store
from cloud.web.keys import DB

MAX_TOKEN_LENGTH = 512


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() != "bearer ":
        return None
    return header[7:].strip() or None


async def async_resolve_bearer(request: web.Request, token: str) -> Principal | None:
    """The principal of a live access token: only its scopes, never more.

    Access tokens are opaque random strings looked up by hash, so a JWT (an ID token,
    a forged or an `alg: none` one) is simply not a token here.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    async with request.app[DB]() as session:
        found = await store.find_access(session, token)
    if found is None:
        return None
    row, user = found
    assert user.id is not None
    return Principal(user.id, user.email, frozenset(row.scope.split()), row.client_id)
