"""The token endpoint's and bearer requests' operations on token rows, and their SQLite form.

Thousands of hubs refresh every few minutes and every API call resolves a bearer token,
so these paths skip the ORM session. On PostgreSQL they run hand-written SQL on a few
asyncpg connections of the provider's own (cloud/oauth/pg_token_rows.py). SQLite (the
embedded default) runs the same operations here as SQLAlchemy Core statements in one
transaction on the app's engine.

Single use holds under concurrency because every spend is a guarded UPDATE (`... AND
rotated_at IS NULL AND revoked_at IS NULL`): on PostgreSQL a second request for the same
row waits for the first to commit and then matches nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.accounts.models import User
from cloud.oauth.models import OAuthClient, OAuthToken

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewToken:
    """A row about to be issued: hashes only, never the tokens themselves."""

    access_token_hash: str
    refresh_token_hash: str
    issued_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime


@dataclass(frozen=True)
class Issued:
    family_id: str
    scope: str


@dataclass(frozen=True)
class RefreshRow:
    """A refresh token's row as the refresh grant judges it, with its user's standing."""

    id: int
    family_id: str
    client_id: str
    user_id: int
    scope: str
    refresh_expires_at: datetime | None
    rotated_at: datetime | None
    revoked_at: datetime | None
    user_confirmed: bool


@dataclass(frozen=True)
class Successor:
    id: int
    rotated_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class AccessGrant:
    """What a live access token grants: its scope, client and (confirmed) user."""

    scope: str
    client_id: str
    user_id: int
    email: str
    first_party: bool
    client_owner_id: int | None


class TokenRows(Protocol):
    """The operations; `rotate` and `replace_unused_successor` are atomic."""

    async def rotate(
        self,
        refresh_hash: str,
        client_id: str,
        now: datetime,
        new: NewToken,
        *,
        expected_scope: str | None = None,
        scope: str | None = None,
    ) -> Issued | None:
        """Spend a live refresh token of `client_id` (of a confirmed user; of
        `expected_scope` when given) and issue `new` in its family with `scope` (default:
        the spent row's); None when no such live token was there to spend."""

    async def find_refresh(self, refresh_hash: str) -> RefreshRow | None: ...

    async def successors(self, family_id: str, token_id: int) -> list[Successor]:
        """The family's rows issued after `token_id`, at most two (enough to judge)."""

    async def replace_unused_successor(
        self, successor_id: int, spent: RefreshRow, now: datetime, new: NewToken, scope: str
    ) -> bool:
        """Revoke the successor if nobody used it yet and issue `new` in its place;
        False (nothing issued) when it was used or revoked meanwhile."""

    async def revoke_family(self, family_id: str, now: datetime) -> None: ...

    async def access_grant(self, access_hash: str, now: datetime) -> AccessGrant | None:
        """A live access token of a confirmed user, with its client's standing."""

    async def aclose(self) -> None: ...


# SQLite: the same operations as Core statements, built once.
_TOKENS = OAuthToken.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
_CLIENTS = OAuthClient.__table__  # type: ignore[attr-defined]
_CONFIRMED_USER = exists().where(_USERS.c.id == _TOKENS.c.user_id, _USERS.c.confirmed.is_(True))
_LIVE = and_(_TOKENS.c.rotated_at.is_(None), _TOKENS.c.revoked_at.is_(None))
_CORE_FIND_REFRESH = select(
    _TOKENS.c.id,
    _TOKENS.c.family_id,
    _TOKENS.c.client_id,
    _TOKENS.c.user_id,
    _TOKENS.c.scope,
    _TOKENS.c.refresh_expires_at,
    _TOKENS.c.rotated_at,
    _TOKENS.c.revoked_at,
    _USERS.c.confirmed,
).outerjoin(_USERS, _USERS.c.id == _TOKENS.c.user_id)
_CORE_ACCESS_GRANT = (
    select(
        _TOKENS.c.scope,
        _TOKENS.c.client_id,
        _USERS.c.id,
        _USERS.c.email,
        _CLIENTS.c.first_party,
        _CLIENTS.c.owner_user_id,
    )
    .join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
    .join(_CLIENTS, _CLIENTS.c.client_id == _TOKENS.c.client_id)
    .where(_USERS.c.confirmed.is_(True), _TOKENS.c.revoked_at.is_(None))
)


def _token_values(
    family_id: str, client_id: str, user_id: int, scope: str, new: NewToken
) -> dict[str, Any]:
    return {
        "family_id": family_id,
        "client_id": client_id,
        "user_id": user_id,
        "scope": scope,
        "access_token_hash": new.access_token_hash,
        "refresh_token_hash": new.refresh_token_hash,
        "issued_at": new.issued_at,
        "access_expires_at": new.access_expires_at,
        "refresh_expires_at": new.refresh_expires_at,
    }


class CoreTokenRows:
    """The operations as SQLAlchemy Core statements on the app's engine (SQLite)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def rotate(
        self,
        refresh_hash: str,
        client_id: str,
        now: datetime,
        new: NewToken,
        *,
        expected_scope: str | None = None,
        scope: str | None = None,
    ) -> Issued | None:
        conditions = [
            _TOKENS.c.refresh_token_hash == refresh_hash,
            _TOKENS.c.client_id == client_id,
            _LIVE,
            _TOKENS.c.refresh_expires_at > now,
            _CONFIRMED_USER,
        ]
        if expected_scope is not None:
            conditions.append(_TOKENS.c.scope == expected_scope)
        spend = (
            update(_TOKENS)
            .where(*conditions)
            .values(rotated_at=now)
            .returning(_TOKENS.c.family_id, _TOKENS.c.user_id, _TOKENS.c.scope)
        )
        async with self._engine.begin() as connection:
            spent = (await connection.execute(spend)).first()
            if spent is None:
                return None
            family_id, user_id, old_scope = spent
            issued_scope = scope if scope is not None else old_scope
            await connection.execute(
                insert(_TOKENS), _token_values(family_id, client_id, user_id, issued_scope, new)
            )
        return Issued(family_id, issued_scope)

    async def find_refresh(self, refresh_hash: str) -> RefreshRow | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    _CORE_FIND_REFRESH.where(_TOKENS.c.refresh_token_hash == refresh_hash)
                )
            ).first()
        if row is None:
            return None
        return RefreshRow(
            id=row.id,
            family_id=row.family_id,
            client_id=row.client_id,
            user_id=row.user_id,
            scope=row.scope,
            refresh_expires_at=row.refresh_expires_at,
            rotated_at=row.rotated_at,
            revoked_at=row.revoked_at,
            user_confirmed=bool(row.confirmed),
        )

    async def successors(self, family_id: str, token_id: int) -> list[Successor]:
        statement = (
            select(_TOKENS.c.id, _TOKENS.c.rotated_at, _TOKENS.c.revoked_at)
            .where(_TOKENS.c.family_id == family_id, _TOKENS.c.id > token_id)
            .order_by(_TOKENS.c.id)
            .limit(2)
        )
        async with self._engine.connect() as connection:
            return [Successor(*row) for row in await connection.execute(statement)]

    async def replace_unused_successor(
        self, successor_id: int, spent: RefreshRow, now: datetime, new: NewToken, scope: str
    ) -> bool:
        supersede = (
            update(_TOKENS).where(_TOKENS.c.id == successor_id, _LIVE).values(revoked_at=now)
        )
        async with self._engine.begin() as connection:
            if (await connection.execute(supersede)).rowcount != 1:
                return False
            await connection.execute(
                insert(_TOKENS),
                _token_values(spent.family_id, spent.client_id, spent.user_id, scope, new),
            )
        return True

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_TOKENS)
                .where(_TOKENS.c.family_id == family_id, _TOKENS.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    async def access_grant(self, access_hash: str, now: datetime) -> AccessGrant | None:
        statement = _CORE_ACCESS_GRANT.where(
            _TOKENS.c.access_token_hash == access_hash, _TOKENS.c.access_expires_at > now
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).first()
        return AccessGrant(*row) if row is not None else None

    async def aclose(self) -> None:
        return None


async def async_open_token_rows(
    engine: AsyncEngine, database_url: str, schema: str | None
) -> TokenRows:
    """PostgreSQL: the provider's own asyncpg pool; otherwise the app's engine."""
    if engine.dialect.name == "postgresql":
        # Imported here: that module builds on this one's types.
        from cloud.oauth.pg_token_rows import PostgresTokenRows

        return await PostgresTokenRows.async_open(database_url, schema)
    return CoreTokenRows(engine)
