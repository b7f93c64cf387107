"""Holding units for a checkout reads about as much whatever a product has already sold.

The free units of a SKU were found by walking all its units in id order, the held and sold
ones included, so a checkout's work grew with every unit sold before it (a shop that had
sold 50,000 units of a product spent 15 ms on SQLite per checkout on that walk). The work
is counted here, not timed: SQLite's virtual-machine steps (its progress handler), or on
PostgreSQL the rows the transaction read from `stock_units` (`pg_stat_xact_user_tables`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.checkout import service
from cloud.checkout.service import PricedLine
from cloud.db import row_values
from cloud.inventory.models import StockUnit

SKU = "EPD-1"
OTHER_SKU = "TRV-1"


def _line(quantity: int) -> PricedLine:
    return PricedLine(SKU, "E-paper display", Decimal("10.00"), quantity, "EUR")


async def _add_units(sessions: async_sessionmaker[AsyncSession], sku: str, count: int) -> None:
    batch = uuid.uuid4().hex[:8]
    rows = [
        row_values(StockUnit, serial=f"{batch}-{n:06d}", sku=sku, sealed_claim_secret="sealed")
        for n in range(count)
    ]
    async with sessions() as session, session.begin():
        await session.execute(insert(StockUnit), rows)


async def _work_of_one_checkout(session: AsyncSession) -> int:
    """The database's work to place an order of one unit, in `session`'s transaction."""
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        raw: Any = (await connection.get_raw_connection()).driver_connection
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0  # go on

        raw._conn.set_progress_handler(count, 1)  # every virtual-machine instruction
        try:
            await service.place_order(session, [_line(1)], None, "buyer@example.com")
        finally:
            raw._conn.set_progress_handler(None, 1)
        return steps[0]
    rows_read = text(
        "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
        "FROM pg_stat_xact_user_tables WHERE relid = 'stock_units'::regclass"
    )
    before = int(await session.scalar(rows_read) or 0)
    await service.place_order(session, [_line(1)], None, "buyer@example.com")
    return int(await session.scalar(rows_read) or 0) - before


async def _checkout_work_after(sessions: async_sessionmaker[AsyncSession], more_held: int) -> int:
    """Place one order holding `more_held` more units (the lowest free ids, as sales take
    them), then measure the next checkout of one unit (rolled back)."""
    await _add_units(sessions, SKU, more_held + 20)
    await _add_units(sessions, OTHER_SKU, more_held)
    async with sessions() as session, session.begin():
        await service.place_order(session, [_line(more_held)], None, "big@example.com")
    async with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("ANALYZE stock_units"))
            await session.commit()
    async with sessions() as session, session.begin():
        work = await _work_of_one_checkout(session)
        await session.rollback()
    return work


async def test_a_checkout_reads_as_much_after_many_sales_as_after_few(store_sessions):
    few = await _checkout_work_after(store_sessions, 10)
    many = await _checkout_work_after(store_sessions, 2000)

    assert few > 0
    # Before: the 2,010 held units were walked (many was about 20 times few).
    assert many <= few * 1.5 + 20, (few, many)
