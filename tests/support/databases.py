"""PostgreSQL for the e2e tier: a database of a test's own, dropped afterwards, and the store's
schema at the migrations' head as SQL, made once and run into each test's schema."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

DEFAULT_E2E_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy (asyncpg) URL as asyncpg and pg_dump take it."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def async_execute(url: str, sql: str) -> None:
    """Run `sql` (one or several statements) on a connection of its own."""
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def async_migrate(url: str, schema: str | None) -> None:
    """Bring the store's database at `url` (in `schema`) to the migrations' head."""
    from cloud import db

    engine = db.create_engine(url, schema)
    try:
        await db.async_upgrade_to_head(engine)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def new_postgres_database(prefix: str) -> AsyncIterator[str]:
    """Create an empty database named PREFIX_<random>; yields its SQLAlchemy (asyncpg) URL."""
    server = os.environ.get("DATABASE_URL", DEFAULT_E2E_DATABASE_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await async_execute(server, f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await async_execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def async_schema_at_head_sql(server_url: str) -> tuple[str, str]:
    """The store's schema at the migrations' head as SQL (tables, indexes, rows), made once:
    a schema is migrated, dumped with pg_dump and dropped. Returns the SQL and the schema
    name in it, for `async_fill_schema` to replace with the schema to fill."""
    name = f"ethos_template_{uuid.uuid4().hex[:12]}"
    await async_execute(server_url, f'CREATE SCHEMA "{name}"')
    try:
        await async_migrate(server_url, name)
        dump = await asyncio.create_subprocess_exec(
            *("pg_dump", "--schema", name, "--no-owner", "--no-privileges", "--inserts"),
            asyncpg_dsn(server_url),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await dump.communicate()
        if dump.returncode != 0:
            raise RuntimeError(f"pg_dump of the template schema failed ({dump.returncode})")
    finally:
        await async_execute(server_url, f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    # psql's own commands (pg_dump's \restrict lines) and the schema's creation (the test's
    # schema exists already) are left out.
    lines = out.decode().splitlines()
    sql = "\n".join(
        line
        for line in lines
        if not line.startswith("\\") and not line.startswith(f"CREATE SCHEMA {name};")
    )
    return sql, name


async def async_fill_schema(server_url: str, schema: str, sql: str, template_name: str) -> None:
    """Run `async_schema_at_head_sql`'s SQL into the existing, empty `schema`."""
    await async_execute(server_url, sql.replace(template_name, schema))
