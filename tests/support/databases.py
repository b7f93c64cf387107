"""A PostgreSQL database of a test's own on the e2e tier's server, dropped afterwards."""

from __future__ import annotations

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
