"""Bearer access tokens to principals, for the Authorizer (`BEARER_RESOLVER`)."""

from __future__ import annotations

from aiohttp import web

from cloud.authz import Principal, grantable_scopes
from cloud.oauth import grants
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
    a forged or an `alg: none` one) is simply not a token here. The scopes are narrowed
    again by the Authorizer's client policy, so a token issued before a policy tightened
    holds no more than a new one would.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    async with request.app[DB]() as session:
        found = await grants.find_access(session, token)
    if found is None:
        return None
    row, user, client = found
    assert user.id is not None
    scopes = grantable_scopes(
        row.scope.split(),
        first_party=client.first_party,
        registrant_id=client.owner_user_id,
        user_id=user.id,
    )
    return Principal(user.id, user.email, frozenset(scopes), row.client_id)
