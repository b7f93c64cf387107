"""The token endpoint's PostgreSQL statements read one row by its token's hash, however many
tokens the client holds, even before the table's first ANALYZE (a new store's database).

The provider's connections keep each statement's plan. A rotation whose plan walked the
client's index instead of the hash's cost more with every token the client was ever given:
measured, 0.2 ms of database CPU per refresh on an analyzed table, 1.2 ms after 8,000
refreshes of one client on a new one.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from cloud import db
from cloud.oauth.pg_token_rows import rotation_statement
from tests.conftest import DatabaseTarget
from tests.support.databases import async_migrate, asyncpg_dsn

pytestmark = pytest.mark.e2e_only

TOKENS_OF_THE_CLIENT = 400
_PARAMETER_TYPES = "varchar, varchar, timestamptz, varchar, varchar, varchar, varchar, " + (
    "timestamptz, timestamptz"
)


async def _connect(database: DatabaseTarget):  # an asyncpg connection in the test's schema
    import asyncpg

    connection = await asyncpg.connect(
        asyncpg_dsn(database.url),
        server_settings={"search_path": database.schema or "public"},
    )
    return connection


async def test_a_rotation_reads_only_its_own_row_on_a_table_never_analyzed(
    database: DatabaseTarget,
) -> None:
    await async_migrate(database.url, database.schema)
    connection = await _connect(database)
    try:
        now = db.utcnow()
        user_id = await connection.fetchval(
            "INSERT INTO users (email, password_hash, confirmed, created_at) "
            "VALUES ('many@example.org', 'x', true, $1) RETURNING id",
            now,
        )
        await connection.execute(
            "INSERT INTO oauth_clients (client_id, name, redirect_uris, grant_types, scope, "
            "token_endpoint_auth_method, first_party, created_at) "
            "VALUES ('busy-client', 'Busy', '', 'refresh_token', 'openid', 'none', false, $1)",
            now,
        )
        # The client's earlier tokens, spent long ago; the last one is live.
        await connection.execute(
            "INSERT INTO oauth_tokens (family_id, client_id, user_id, scope, access_token_hash, "
            "refresh_token_hash, issued_at, access_expires_at, refresh_expires_at, rotated_at) "
            "SELECT 'f' || n, 'busy-client', $1, 'openid', md5('a' || n), md5('r' || n), "
            "$2, $2, $3, $2 FROM generate_series(1, $4) AS n",
            user_id,
            now,
            now + timedelta(days=30),
            TOKENS_OF_THE_CLIENT,
        )
        # Live tokens, each of a family of its own: one rotated alone, three together.
        live = [secrets.token_hex(32) for _ in range(4)]
        for index, refresh_hash in enumerate(live):
            await connection.execute(
                "INSERT INTO oauth_tokens (family_id, client_id, user_id, scope, "
                "access_token_hash, refresh_token_hash, issued_at, access_expires_at, "
                "refresh_expires_at) VALUES ($1, 'busy-client', $2, 'openid', $3, $4, $5, $5, $6)",
                f"live-{index}",
                user_id,
                secrets.token_hex(32),
                refresh_hash,
                now,
                now + timedelta(days=30),
            )
        # The plan a connection keeps for the statement (one for any parameters).
        await connection.execute("SET plan_cache_mode = force_generic_plan")
        plans = {}
        for count, tokens in ((1, live[:1]), (3, live[1:])):
            types = ", ".join([_PARAMETER_TYPES] * count)
            await connection.execute(
                f"PREPARE rotate{count} ({types}) AS {rotation_statement(count)}"
            )
            values = ", ".join(
                f"'{refresh_hash}', 'busy-client', now(), NULL, NULL, "
                f"'{secrets.token_hex(32)}', '{secrets.token_hex(32)}', now(), now()"
                for refresh_hash in tokens
            )
            plans[count] = "\n".join(
                row[0]
                for row in await connection.fetch(
                    f"EXPLAIN (ANALYZE, COSTS OFF) EXECUTE rotate{count} ({values})"
                )
            )
    finally:
        await connection.close()
    alone, together = plans[1], plans[3]
    assert alone.count("refresh_token_hash_key") == 1, alone
    assert together.count("refresh_token_hash_key") == 3, together  # one lookup each
    for plan in (alone, together):
        assert "Seq Scan on oauth_tokens" not in plan, plan
        assert "Rows Removed by Filter" not in plan, plan  # no other token of the client read
    # Every rotation spent its one row and issued one.
    inserts = [line for line in together.splitlines() if "Insert on oauth_tokens" in line]
    assert len(inserts) == 3 and all("rows=1 loops=1" in line for line in inserts), together
