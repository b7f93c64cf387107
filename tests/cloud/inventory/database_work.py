"""The database's work for statements on `stock_units`, counted rather than timed: SQLite's
virtual-machine steps (its progress handler), or on PostgreSQL the rows the transaction read
from `stock_units` (`pg_stat_xact_user_tables`). Counts do not move with the machine's load."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from cloud.db import row_values
from cloud.inventory.models import StockUnit

_ROWS_READ = text(
    "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
    "FROM pg_stat_xact_user_tables WHERE relid = 'stock_units'::regclass"
)


async def work_of(connection: AsyncConnection, run: Callable[[], Awaitable[Any]]) -> int:
    """The work `run` makes the database do on `connection` (inside its transaction)."""
    if connection.dialect.name == "sqlite":
        raw: Any = (await connection.get_raw_connection()).driver_connection
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0  # go on

        raw._conn.set_progress_handler(count, 1)  # every virtual-machine instruction
        try:
            await run()
        finally:
            raw._conn.set_progress_handler(None, 1)
        return steps[0]
    before = int(await connection.scalar(_ROWS_READ) or 0)
    await run()
    return int(await connection.scalar(_ROWS_READ) or 0) - before


async def add_units(sessions: async_sessionmaker[AsyncSession], sku: str, count: int) -> None:
    """`count` free units of `sku`, inserted as rows (an import seals each claim secret:
    too slow for thousands)."""
    batch = uuid.uuid4().hex[:8]
    rows = [
        row_values(StockUnit, serial=f"{batch}-{n:06d}", sku=sku, sealed_claim_secret="sealed")
        for n in range(count)
    ]
    async with sessions() as session, session.begin():
        await session.execute(insert(StockUnit), rows)
