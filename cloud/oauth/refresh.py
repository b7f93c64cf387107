"""The refresh grant (RFC 6749 §6), on the event loop, in one round trip when all is well.

Each refresh gives a new refresh token; a spent one coming back revokes its whole family.
Except once, shortly: an answer lost on the network leaves the client holding only the
token it sent. Within the grace (`refresh_grace_seconds` after it was rotated) that
previous token may come back once, while its successor has not been used: the answer is a
fresh rotation from it, and the unused successor is revoked in the same statement, so the
family never has two live chains. A second return, a return after the successor was used,
or after the grace, is reuse: the whole family is revoked.

The usual request (a live token of the client) is one atomic statement that spends the
row and inserts its successor (on PostgreSQL, shared with the rotations arriving at the same
moment: cloud/oauth/pg_token_rows.py); only when it matches nothing
is the row read to say why, and to apply the grace or the reuse rule. Authlib still
authenticates the client (from a short-lived cache of client rows) and words the errors;
a url-encoded request without a query string (the usual one) reaches it as a light
request over the posted form (`FormTokenRequest`), not a copy of it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.authenticate_client import ClientAuthentication
from authlib.oauth2.rfc6749.util import extract_basic_authorization

from cloud.db import utcnow
from cloud.oauth.adapter import OAuthResponse, TokenRequest
from cloud.oauth.client_cache import ClientCache
from cloud.oauth.const import GRANT_REFRESH_TOKEN, TOKEN_AUTH_METHODS
from cloud.oauth.models import OAuthClient
from cloud.oauth.server import EthosAuthorizationServer
from cloud.oauth.token_rows import Issued, NewToken, RefreshRow, TokenRows
from cloud.security import new_token, token_hash

_LOGGER = logging.getLogger(__name__)


class RefreshGrant:
    """Answers `grant_type=refresh_token` at the token endpoint."""

    def __init__(
        self, server: EthosAuthorizationServer, rows: TokenRows, clients: ClientCache
    ) -> None:
        self._server = server
        self._rows = rows
        self._clients = clients

    async def async_token_response(self, request: TokenRequest) -> OAuthResponse:
        try:
            return await self._async_refresh(request)
        except OAuth2Error as error:
            response: OAuthResponse = self._server.handle_error_response(request, error)
            return response

    async def _async_authenticate_client(self, request: TokenRequest) -> OAuthClient:
        """Authlib's client authentication, over client rows loaded (or cached) first."""
        named = {
            extract_basic_authorization(request.headers)[0],
            request.form.get("client_id"),
            request.payload.client_id,
        }
        known: dict[str, OAuthClient] = {}
        for client_id in named:
            if client_id and (row := await self._clients.async_get(client_id)) is not None:
                known[client_id] = row
        authenticate = ClientAuthentication(known.get)
        authenticated: OAuthClient = authenticate(request, list(TOKEN_AUTH_METHODS), "token")
        return authenticated

    async def _async_refresh(self, request: TokenRequest) -> OAuthResponse:
        client = await self._async_authenticate_client(request)
        if not client.check_grant_type(GRANT_REFRESH_TOKEN):
            raise UnauthorizedClientError(
                f"The client is not authorized to use 'grant_type={GRANT_REFRESH_TOKEN}'"
            )
        presented = request.form.get("refresh_token")
        if presented is None:
            raise InvalidRequestError("Missing 'refresh_token' in request.")
        refresh_hash, requested = token_hash(presented), request.payload.scope or None
        access, refresh = new_token(), new_token()
        now = utcnow()
        new = self._new_row(access, refresh, now)
        issued: Issued | None = None
        if requested is None:
            issued = await self._rows.rotate(refresh_hash, client.client_id, now, new)
        else:
            # A narrower scope: the row is read first to hold the request to its scope.
            row = await self._rows.find_refresh(refresh_hash)
            if row is not None and _live(row, now) and row.client_id == client.client_id:
                scope = _narrowed(client, row, requested)
                issued = await self._rows.rotate(
                    refresh_hash, client.client_id, now, new, expected_scope=row.scope, scope=scope
                )
        if issued is None:
            issued = await self._async_refresh_spent_or_refuse(
                client, refresh_hash, requested, now, new
            )
        if requested is None and client.get_allowed_scope(issued.scope) is None:
            # The client may no longer ask for what it was once given.
            await self._rows.revoke_family(issued.family_id, now)
            raise InvalidScopeError()
        body = {
            "token_type": "Bearer",
            "access_token": access,
            "expires_in": self._server.oauth.access_token_seconds,
            "refresh_token": refresh,
            "scope": issued.scope,
        }
        return OAuthResponse(200, body, list(default_json_headers))

    def _new_row(self, access: str, refresh: str, now: datetime) -> NewToken:
        oauth = self._server.oauth
        return NewToken(
            access_token_hash=token_hash(access),
            refresh_token_hash=token_hash(refresh),
            issued_at=now,
            access_expires_at=now + timedelta(seconds=oauth.access_token_seconds),
            refresh_expires_at=now + timedelta(days=oauth.refresh_token_days),
        )

    async def _async_refresh_spent_or_refuse(
        self,
        client: OAuthClient,
        refresh_hash: str,
        requested: str | None,
        now: datetime,
        new: NewToken,
    ) -> Issued:
        """The token was not live for this client: a grace retry, reuse, or a refusal."""
        row = await self._rows.find_refresh(refresh_hash)
        if row is None:
            raise InvalidGrantError()
        expired = row.refresh_expires_at is None or row.refresh_expires_at <= now
        if row.revoked_at is None and row.rotated_at is not None and not expired:
            successor = await self._unused_successor_within_grace(row, now)
            if successor is not None:
                _check_holder(client, row, requested)
                scope = _narrowed(client, row, requested) if requested else row.scope
                if await self._rows.replace_unused_successor(successor, row, now, new, scope):
                    _LOGGER.info(
                        "refresh token of %s came back within the grace: its unused "
                        "successor was replaced",
                        row.client_id,
                    )
                    return Issued(row.family_id, scope)
                await self._rows.revoke_family(row.family_id, now)
                raise InvalidGrantError("The refresh token was already used.")
        if row.rotated_at is not None or row.revoked_at is not None:
            if row.revoked_at is None:
                _LOGGER.warning("refresh token reused (client %s): family revoked", row.client_id)
            await self._rows.revoke_family(row.family_id, now)
            raise InvalidGrantError()
        if expired:
            raise InvalidGrantError()
        _check_holder(client, row, requested)
        # Live and held by this client, yet not spent by us: spent concurrently.
        await self._rows.revoke_family(row.family_id, now)
        raise InvalidGrantError("The refresh token was already used.")

    async def _unused_successor_within_grace(self, row: RefreshRow, now: datetime) -> int | None:
        grace = timedelta(seconds=self._server.oauth.refresh_grace_seconds)
        assert row.rotated_at is not None
        if grace <= timedelta(0) or now - row.rotated_at > grace:
            return None
        later = await self._rows.successors(row.family_id, row.id)
        if len(later) != 1 or later[0].rotated_at is not None or later[0].revoked_at is not None:
            return None
        return later[0].id


def _live(row: RefreshRow, now: datetime) -> bool:
    return (
        row.rotated_at is None
        and row.revoked_at is None
        and row.refresh_expires_at is not None
        and row.refresh_expires_at > now
    )


def _check_holder(client: OAuthClient, row: RefreshRow, requested: str | None) -> None:
    """Refusals for a token that is not this client's, too wide a scope, or no user."""
    if row.client_id != client.client_id:
        raise InvalidGrantError()
    if requested is not None:
        _narrowed(client, row, requested)
    if not row.user_confirmed:
        raise InvalidRequestError("There is no 'user' for this token.")


def _narrowed(client: OAuthClient, row: RefreshRow, requested: str) -> str:
    """A requested scope within the token's (RFC 6749 §6) and the client's, else refused."""
    if not set(requested.split()) <= set(row.scope.split()):
        raise InvalidScopeError()
    scope = client.get_allowed_scope(requested)
    if scope is None:
        raise InvalidScopeError()
    return scope
