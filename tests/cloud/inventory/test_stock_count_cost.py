"""Counting what is in stock reads as much with thousands of free units as with a few hundred.

Product pages' counts (`StockCounts`, every 2 s and after each stock change) and the
recommender's in-stock list (on every signed-in shopper's shelves) walked every free unit:
a `GROUP BY sku` and a `SELECT DISTINCT sku` over the whole stock. A count now stops at
`COUNT_CAP` per SKU, and the in-stock list looks at one unit per SKU. The work is counted,
not timed (`database_work.py`): the statement `StockCounts` ran is run again in a measured
transaction, and the recommender's query runs in one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.catalog.loader import load_catalog
from cloud.inventory.availability import COUNT_CAP, StockCounts
from cloud.recommender.live_model import in_stock_skus
from tests.cloud.inventory.database_work import add_units, work_of

SKUS = load_catalog().skus


async def _statements_of_a_count(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[int, list[tuple[str, Any]]]:
    """A fresh `StockCounts`'s answer for a page, and what it ran on `stock_units` for it."""
    engine = sessions.kw["bind"]
    ran: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "stock_units" in statement:
            ran.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    counts = StockCounts(engine, SKUS, ttl_seconds=60)
    try:
        available = await counts.async_available("EPD-1")
    finally:
        counts.close()
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    return available, ran


async def _work_with(sessions: async_sessionmaker[AsyncSession], more: int) -> tuple[int, int, int]:
    """`more` free units each of EPD-1 and TRV-OPEN; then the work of the page's count, of
    the recommender's in-stock list, and what the page would show."""
    await add_units(sessions, "EPD-1", more)
    await add_units(sessions, "TRV-OPEN", more)
    async with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("ANALYZE stock_units"))
            await session.commit()
    available, ran = await _statements_of_a_count(sessions)
    assert len(ran) == 1, ran
    statement, parameters = ran[0]
    async with sessions() as session, session.begin():
        connection = await session.connection()
        count_work = await work_of(
            connection, lambda: connection.exec_driver_sql(statement, parameters)
        )
    async with sessions() as session, session.begin():
        stock_work = await work_of(await session.connection(), lambda: in_stock_skus(session, SKUS))
        assert await in_stock_skus(session, SKUS) == {"EPD-1", "TRV-OPEN"}
    return count_work, stock_work, available


async def test_counting_stock_reads_as_much_with_thousands_free_as_with_hundreds(
    store_sessions,
):
    few_count, few_stock, few_shown = await _work_with(store_sessions, 150)
    many_count, many_stock, many_shown = await _work_with(store_sessions, 2850)

    # Both over the cap: a page shows "In stock" either way.
    assert (few_shown, many_shown) == (COUNT_CAP, COUNT_CAP)
    assert few_count > 0 and few_stock > 0
    # Before: every free unit was walked (6,000 against 300: many was about 20 times few).
    assert many_count <= few_count * 1.2 + 20, (few_count, many_count)
    assert many_stock <= few_stock * 1.2 + 20, (few_stock, many_stock)
