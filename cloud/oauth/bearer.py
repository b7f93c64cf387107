"""Bearer access tokens to principals, for the Authorizer (`BEARER_RESOLVER`)."""

from __future__ import annotations

from aiohttp import web

from cloud.authz import Principal, grantable_scopes
from cloud.db import utcnow
from cloud.oauth.runtime import OAUTH
from cloud.security import token_hash

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
    # One statement, no transaction around it (cloud/oauth/token_rows.py).
    grant = await request.app[OAUTH].token_rows().access_grant(token_hash(token), utcnow())
    if grant is None:
        return None
    scopes = grantable_scopes(
        grant.scope.split(),
        first_party=grant.first_party,
        registrant_id=grant.client_owner_id,
        user_id=grant.user_id,
    )
    return Principal(grant.user_id, grant.email, frozenset(scopes), grant.client_id)
