"""The token rows' operations on PostgreSQL, one round trip each, on connections of their own.

The statements are hand-written SQL run on a few asyncpg connections of the provider's own
(cloud/oauth/pg_connections.py: no ping before each use, no BEGIN / COMMIT around a single
statement). A rotation is data-modifying statements that mark the spent row and insert its
successor atomically; rotations that arrive together share one statement
(cloud/oauth/rotation_batches.py).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

from cloud.oauth.pg_connections import ConnectionLender
from cloud.oauth.rotation_batches import MAX_BATCH, Rotation, RotationBatcher
from cloud.oauth.token_rows import (
    AccessGrant,
    Issued,
    NewToken,
    RefreshRow,
    Successor,
)

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")
# Connections of the provider's own (per replica); each request holds one for a single
# statement, so a few serve many concurrent requests.
POOL_MAX_SIZE = 4

# PostgreSQL: asyncpg prepares each statement once per connection and keeps it.
# A rotation spends the row found by its hash alone: `(client_id = $2) IS TRUE` checks the
# client without being an index condition. As a plain `client_id = $2` it ties, in the
# planner's eyes, with the unique hash while the table's statistics are still those of an
# empty table (a new store, until autovacuum's first ANALYZE), and the plan a connection
# keeps could walk every token of the client: a cost growing with each refresh. Rotations
# sent together (cloud/oauth/rotation_batches.py) are one such spend and issue each, not a
# join against a list of hashes, for the same reason: on such statistics the planner reads
# the whole table for a join. (Public: its plan is tested,
# tests/cloud/oauth/test_token_statements.py.)
_PG_ROTATION = """
spent{n} AS (
    UPDATE oauth_tokens SET rotated_at = ${now}
    WHERE refresh_token_hash = ${hash} AND (client_id = ${client}) IS TRUE
      AND rotated_at IS NULL AND revoked_at IS NULL AND refresh_expires_at > ${now}
      AND (${expected}::varchar IS NULL OR scope = ${expected}::varchar)
      AND EXISTS (SELECT 1 FROM users WHERE users.id = oauth_tokens.user_id AND users.confirmed)
    RETURNING family_id, client_id, user_id, scope
),
issued{n} AS (
    INSERT INTO oauth_tokens (family_id, client_id, user_id, scope, access_token_hash,
                              refresh_token_hash, issued_at, access_expires_at,
                              refresh_expires_at)
    SELECT family_id, client_id, user_id, COALESCE(${scope}::varchar, scope), ${access},
           ${refresh}, ${now}, ${access_expires}, ${refresh_expires}
    FROM spent{n}
    RETURNING {n} AS rotation, family_id, scope
)"""
# A rotation's parameters, in their order in the statement (`_parameters`).
_ROTATION_PARAMETERS = (
    *("hash", "client", "now", "expected", "scope", "access", "refresh"),
    *("access_expires", "refresh_expires"),
)


@functools.lru_cache(maxsize=MAX_BATCH)
def rotation_statement(count: int) -> str:
    """`count` rotations in one statement; a row (rotation's index, family id, scope) for
    each one that spent its token."""
    width = len(_ROTATION_PARAMETERS)
    parts = []
    for n in range(count):
        numbers = {name: n * width + i + 1 for i, name in enumerate(_ROTATION_PARAMETERS)}
        parts.append(_PG_ROTATION.format(n=n, **numbers))
    # Only our own integers are formatted into the text.
    answers = " UNION ALL ".join(f"SELECT * FROM issued{n}" for n in range(count))  # noqa: S608
    return "WITH" + ",".join(parts) + "\n" + answers + "\n"


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


def _parameters(rotation: Rotation) -> tuple[Any, ...]:
    return (
        rotation.refresh_hash,
        rotation.client_id,
        rotation.now,
        rotation.expected_scope,
        rotation.scope,
        rotation.new.access_token_hash,
        rotation.new.refresh_token_hash,
        rotation.new.access_expires_at,
        rotation.new.refresh_expires_at,
    )


class PostgresTokenRows:
    """The operations on asyncpg connections of the provider's own."""

    def __init__(self, connections: ConnectionLender) -> None:
        self._connections = connections
        self._rotations = RotationBatcher(self._async_rotate_together)

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
        rotation = Rotation(refresh_hash, client_id, now, expected_scope, scope, new)
        return await self._rotations.async_rotate(rotation)

    async def _async_rotate_together(self, rotations: Sequence[Rotation]) -> list[Issued | None]:
        statement = rotation_statement(len(rotations))
        parameters = [value for rotation in rotations for value in _parameters(rotation)]
        rows = await self._run(lambda c: c.fetch(statement, *parameters))
        issued: list[Issued | None] = [None] * len(rotations)
        for index, family_id, scope in rows:
            issued[index] = Issued(family_id, scope)
        return issued

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
        await self._rotations.async_close()
        await self._connections.async_close()
