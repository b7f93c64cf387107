"""PostgreSQL for the e2e tier: a database of a test's own, dropped afterwards, and the store's
schema at the migrations' head as SQL, made once and run into each test's schema."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

DEFAULT_E2E_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@contextlib.asynccontextmanager
async def new_postgres_database(prefix: str) -> AsyncIterator[str]:
    """Create an empty database named PREFIX_<random>; yields its SQLAlchemy (asyncpg) URL."""
    import asyncpg  # the e2e tier's driver; the default tier never gets here

    server = os.environ.get("DATABASE_URL", DEFAULT_E2E_DATABASE_URL)
    admin_dsn = server.replace("postgresql+asyncpg://", "postgresql://")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def async_schema_at_head_sql(server_url: str) -> tuple[str, str]:
    """The store's schema at the migrations' head as SQL (tables, indexes, rows), made once:
    a schema is migrated, dumped with pg_dump and dropped. Returns the SQL and the schema
    name in it, for `async_fill_schema` to replace with the schema to fill."""
    import asyncpg

    from cloud import db

    admin_dsn = server_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"ethos_template_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
        try:
            engine = db.create_engine(server_url, name)
            try:
                await db.async_upgrade_to_head(engine)
            finally:
                await engine.dispose()
            dump = await asyncio.create_subprocess_exec(
                *("pg_dump", "--schema", name, "--no-owner", "--no-privileges", "--inserts"),
                admin_dsn,
                stdout=asyncio.subprocess.PIPE,
            )
            out, _ = await dump.communicate()
            if dump.returncode != 0:
                raise RuntimeError(f"pg_dump of the template schema failed ({dump.returncode})")
        finally:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await conn.close()
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
    import asyncpg

    conn = await asyncpg.connect(server_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql.replace(template_name, schema))
    finally:
        await conn.close()
