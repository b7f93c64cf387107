"""Bearer access tokens to principals, for the Authorizer (`BEARER_RESOLVER`)."""

from __future__ import annotations

from aiohttp import web

from cloud.authz import Principal, grantable_scopes
from cloud.oauth import grants
from cloud.web.keys import ENGINE

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
    async with request.app[ENGINE].connect() as connection:
        if connection.dialect.name != "sqlite":
            # One SELECT needs no transaction around it: on PostgreSQL that saves the
            # BEGIN and ROLLBACK round trips of every bearer request.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        grant = await grants.find_access_grant(connection, token)
    if grant is None:
        return None
    scopes = grantable_scopes(
        grant.scope.split(),
        first_party=grant.first_party,
        registrant_id=grant.client_owner_id,
        user_id=grant.user_id,
    )
    return Principal(grant.user_id, grant.email, frozenset(scopes), grant.client_id)
