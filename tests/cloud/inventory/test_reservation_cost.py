"""Holding units for a checkout reads about as much whatever a product has already sold.

The free units of a SKU were found by walking all its units in id order, the held and sold
ones included, so a checkout's work grew with every unit sold before it (a shop that had
sold 50,000 units of a product spent 15 ms on SQLite per checkout on that walk). The work
is counted here, not timed (`database_work.py`).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.checkout import service
from cloud.checkout.service import PricedLine
from tests.cloud.inventory.database_work import add_units, work_of

SKU = "EPD-1"
OTHER_SKU = "TRV-1"


def _line(quantity: int) -> PricedLine:
    return PricedLine(SKU, "E-paper display", Decimal("10.00"), quantity, "EUR")


async def _work_of_one_checkout(session: AsyncSession) -> int:
    """The database's work to place an order of one unit, in `session`'s transaction."""
    return await work_of(
        await session.connection(),
        lambda: service.place_order(session, [_line(1)], None, "buyer@example.com"),
    )


async def _checkout_work_after(sessions: async_sessionmaker[AsyncSession], more_held: int) -> int:
    """Place one order holding `more_held` more units (the lowest free ids, as sales take
    them), then measure the next checkout of one unit (rolled back)."""
    await add_units(sessions, SKU, more_held + 20)
    await add_units(sessions, OTHER_SKU, more_held)
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
