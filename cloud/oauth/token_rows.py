"""The token endpoint's and bearer requests' statements, one round trip each on PostgreSQL.

Thousands of hubs refresh every few minutes and every API call resolves a bearer token,
so these paths skip the ORM session: on PostgreSQL they run hand-written SQL on a few
asyncpg connections of the provider's own (cloud/oauth/pg_connections.py: no ping before
each use, no BEGIN / COMMIT around a single statement), a rotation being one
data-modifying statement that marks the spent row and inserts its successor atomically.
SQLite (the embedded default) runs the same operations as SQLAlchemy Core statements in
one transaction on the app's engine.

Single use holds under concurrency because every spend is a guarded UPDATE (`... AND
rotated_at IS NULL AND revoked_at IS NULL`): on PostgreSQL a second request for the same
row waits for the first to commit and then matches nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import and_, exists, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.accounts.models import User
from cloud.oauth.models import OAuthClient, OAuthToken
from cloud.oauth.pg_connections import ConnectionLender

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")
# Connections of the provider's own (per replica); each request holds one for a single
# statement, so a few serve many concurrent requests.
POOL_MAX_SIZE = 4


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


# PostgreSQL: asyncpg prepares each statement once per connection and keeps it.
# The spent row is found by its hash alone: `(client_id = $2) IS TRUE` checks the client
# without being an index condition. As a plain `client_id = $2` it ties, in the planner's
# eyes, with the unique hash while the table's statistics are still those of an empty
# table (a new store, until autovacuum's first ANALYZE), and the plan a connection keeps
# could walk every token of the client: a cost growing with each refresh. (Public: its
# plan is tested, tests/cloud/oauth/test_token_statements.py.)
PG_ROTATE = """
WITH spent AS (
    UPDATE oauth_tokens SET rotated_at = $3
    WHERE refresh_token_hash = $1 AND (client_id = $2) IS TRUE
      AND rotated_at IS NULL AND revoked_at IS NULL AND refresh_expires_at > $3
      AND ($4::varchar IS NULL OR scope = $4::varchar)
      AND EXISTS (SELECT 1 FROM users WHERE users.id = oauth_tokens.user_id AND users.confirmed)
    RETURNING family_id, client_id, user_id, scope
)
INSERT INTO oauth_tokens (family_id, client_id, user_id, scope, access_token_hash,
                          refresh_token_hash, issued_at, access_expires_at, refresh_expires_at)
SELECT family_id, client_id, user_id, COALESCE($5::varchar, scope), $6, $7, $3, $8, $9
FROM spent
RETURNING family_id, scope
"""
_PG_FIND_REFRESH = """
SELECT t.id, t.family_id, t.client_id, t.user_id, t.scope, t.refresh_expires_at,
       t.rotated_at, t.revoked_at, COALESCE(u.confirmed, false)
FROM oauth_tokens t LEFT JOIN users u ON u.id = t.user_id
WHERE t.refresh_token_hash = $1
"""
_PG_SUCCESSORS = """
SELECT id, rotated_at, revoked_at FROM oauth_tokens
WHERE family_id = $1 AND id > $2 ORDER BY id LIMIT 2
"""
_PG_REPLACE_SUCCESSOR = """
WITH superseded AS (
    UPDATE oauth_tokens SET revoked_at = $2
    WHERE id = $1 AND rotated_at IS NULL AND revoked_at IS NULL
    RETURNING family_id
)
INSERT INTO oauth_tokens (family_id, client_id, user_id, scope, access_token_hash,
                          refresh_token_hash, issued_at, access_expires_at, refresh_expires_at)
SELECT family_id, $3, $4, $5, $6, $7, $2, $8, $9 FROM superseded
RETURNING id
"""
_PG_REVOKE_FAMILY = """
UPDATE oauth_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL
"""
_PG_ACCESS_GRANT = """
SELECT t.scope, t.client_id, u.id, u.email, c.first_party, c.owner_user_id
FROM oauth_tokens t
JOIN users u ON u.id = t.user_id
JOIN oauth_clients c ON c.client_id = t.client_id
WHERE t.access_token_hash = $1 AND t.revoked_at IS NULL AND t.access_expires_at > $2
  AND u.confirmed
"""


class PostgresTokenRows:
    """The operations on asyncpg connections of the provider's own."""

    def __init__(self, connections: ConnectionLender) -> None:
        self._connections = connections

    @classmethod
    async def async_open(cls, database_url: str, schema: str | None) -> PostgresTokenRows:
        import asyncpg

        dsn = make_url(database_url).set(drivername="postgresql")
        server_settings = {"search_path": schema} if schema else None

        async def connect() -> Any:
            return await asyncpg.connect(
                dsn.render_as_string(hide_password=False), server_settings=server_settings
            )

        connections = ConnectionLender(connect, POOL_MAX_SIZE)
        await connections.async_run(lambda c: c.fetchval("SELECT 1"))  # fail at start-up
        return cls(connections)

    async def _run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """`work` on a pooled connection, once more on a fresh one if the server dropped
        the first (a restarted PostgreSQL): the statements are safe to repeat, a repeated
        rotation being judged as the retry of a lost answer."""
        import asyncpg

        for attempt in (1, 2):
            try:
                return await self._connections.async_run(work)
            except (
                asyncpg.ConnectionDoesNotExistError,
                asyncpg.InterfaceError,
                # A connection whose server hung up while it lay idle can also fail this way
                # (the server's goodbye arrived before the socket closed).
                asyncpg.InternalClientError,
                OSError,
            ):
                if attempt == 2:
                    raise
                _LOGGER.info("token database connection lost; trying once more")
        raise AssertionError("unreachable")

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
        row = await self._run(
            lambda c: c.fetchrow(
                PG_ROTATE,
                refresh_hash,
                client_id,
                now,
                expected_scope,
                scope,
                new.access_token_hash,
                new.refresh_token_hash,
                new.access_expires_at,
                new.refresh_expires_at,
            )
        )
        return Issued(row[0], row[1]) if row is not None else None

    async def find_refresh(self, refresh_hash: str) -> RefreshRow | None:
        row = await self._run(lambda c: c.fetchrow(_PG_FIND_REFRESH, refresh_hash))
        return RefreshRow(*row) if row is not None else None

    async def successors(self, family_id: str, token_id: int) -> list[Successor]:
        rows = await self._run(lambda c: c.fetch(_PG_SUCCESSORS, family_id, token_id))
        return [Successor(*row) for row in rows]

    async def replace_unused_successor(
        self, successor_id: int, spent: RefreshRow, now: datetime, new: NewToken, scope: str
    ) -> bool:
        row = await self._run(
            lambda c: c.fetchrow(
                _PG_REPLACE_SUCCESSOR,
                successor_id,
                now,
                spent.client_id,
                spent.user_id,
                scope,
                new.access_token_hash,
                new.refresh_token_hash,
                new.access_expires_at,
                new.refresh_expires_at,
            )
        )
        return row is not None

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        await self._run(lambda c: c.execute(_PG_REVOKE_FAMILY, family_id, now))

    async def access_grant(self, access_hash: str, now: datetime) -> AccessGrant | None:
        row = await self._run(lambda c: c.fetchrow(_PG_ACCESS_GRANT, access_hash, now))
        return AccessGrant(*row) if row is not None else None

    async def aclose(self) -> None:
        await self._connections.async_close()


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
        return await PostgresTokenRows.async_open(database_url, schema)
    return CoreTokenRows(engine)
