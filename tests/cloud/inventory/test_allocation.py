"""Allocation on settlement: the units sold are exactly the order's quantities, whatever
the order still held when its invoice settled."""

from __future__ import annotations

from sqlalchemy import func, select, update

from cloud.inventory.models import Ownership, StockUnit
from cloud.inventory.service import available_count
from cloud.web.keys import DB
from tests.cloud.payments.test_webhook import event, post


async def _units(shop, order_id: str) -> list[StockUnit]:
    async with shop.app[DB]() as session:
        return list(await session.scalars(select(StockUnit).where(StockUnit.order_id == order_id)))


async def test_an_order_holding_fewer_units_than_it_bought_is_topped_up_then_sold(
    shop_without_webhook,
):
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 4)
    order_id = await shop.place_order("EPD-1", 2, email="short@example.com")
    await shop.pay(order_id, "pay", "confirm")
    # One of its two units went back to stock meanwhile.
    given_back = (await _units(shop, order_id))[0].id
    async with shop.app[DB]() as session, session.begin():
        await session.execute(
            update(StockUnit).where(StockUnit.id == given_back).values(order_id=None)
        )

    status, answer = await post(shop, event(shop, await shop.invoice_id(order_id)))

    assert status == 200 and answer["status"] == "paid"
    units = await _units(shop, order_id)
    assert len(units) == 2 and all(unit.sold_at is not None for unit in units)
    async with shop.app[DB]() as session:
        owned = await session.scalar(select(func.count()).select_from(Ownership))
        assert owned == 2
        assert await available_count(session, "EPD-1") == 2
    api = await (await shop.client.get(f"/api/v1/orders/{order_id}")).json()
    assert api["devices"] == sorted(unit.serial for unit in units)
