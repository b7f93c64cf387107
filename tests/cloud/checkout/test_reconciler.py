"""The reconciler settles or expires orders whose webhooks never arrived."""

from __future__ import annotations

import asyncio
import dataclasses

from sqlalchemy import update

from cloud.app import create_app
from cloud.catalog.keys import CATALOG
from cloud.checkout import flow, reconciler, service
from cloud.checkout.keys import CHECKOUT
from cloud.checkout.models import Order
from cloud.db import utcnow
from cloud.inventory.service import available_count
from cloud.web.keys import DB
from ethos.tasks import async_cancel_and_wait


async def make_due(shop) -> None:
    """Fast-forward: every watched order is due for a look now."""
    async with shop.app[DB]() as session, session.begin():
        await session.execute(
            update(Order).where(Order.next_check_at.is_not(None)).values(next_check_at=utcnow())
        )


async def test_reconciler_settles_an_order_whose_webhook_was_dropped(shop_without_webhook):
    shop = shop_without_webhook
    stock = await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order(email="dropped@example.com")
    await shop.pay(order_id, "pay", "confirm")
    assert await shop.reconcile() == 0  # not due yet: nothing is read early
    assert (await shop.order(order_id)).status == "awaiting_payment"
    await make_due(shop)
    assert await shop.reconcile() == 1
    order = await shop.order(order_id)
    assert order.status == "paid" and order.next_check_at is None
    api = await (await shop.client.get(f"/api/v1/orders/{order_id}")).json()
    assert api["devices"] == list(stock)
    receipt = await shop.smtp.wait_for("dropped@example.com")
    assert receipt["Subject"] == "Receipt for your Ethos order"


async def test_reconciler_expires_and_releases(shop_without_webhook):
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order()
    await shop.pay(order_id, "expire")
    await make_due(shop)
    assert await shop.reconcile() == 1
    order = await shop.order(order_id)
    assert order.status == "expired"
    assert order.next_check_at is not None  # still watched for a late payment
    async with shop.app[DB]() as session:
        assert await available_count(session, "EPD-1") == 1
    await shop.pay(order_id, "pay")
    await make_due(shop)
    assert await shop.reconcile() == 1
    assert (await shop.order(order_id)).status == "paid_late"


async def test_unchanged_orders_are_looked_at_again_later(shop_without_webhook):
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order()
    await make_due(shop)
    assert await shop.reconcile() == 0
    order = await shop.order(order_id)
    assert order.status == "awaiting_payment" and order.next_check_at > utcnow()
    assert await reconciler.claim_due_orders(shop.app[CHECKOUT]) == []


async def test_reconciler_opens_missing_invoices_and_gives_up_after_expiry(shop_without_webhook):
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 2)
    await shop.sim.fail_next(503)
    retried = await shop.place_order()
    await shop.sim.fail_next(503)
    abandoned = await shop.place_order()
    async with shop.app[DB]() as session, session.begin():
        old = utcnow().replace(year=utcnow().year - 1)
        await session.execute(update(Order).where(Order.id == abandoned).values(created_at=old))
    await make_due(shop)
    assert await shop.reconcile() == 2
    assert (await shop.order(retried)).status == "awaiting_payment"
    assert (await shop.order(abandoned)).status == "expired"
    async with shop.app[DB]() as session:
        assert await available_count(session, "EPD-1") == 1


async def test_a_restarted_store_picks_up_where_it_left(shop_without_webhook, aiohttp_client):
    """All reconciler state is in the database: a new process (or replica) carries on."""
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order()
    await shop.pay(order_id, "pay", "confirm")
    await shop.client.close()
    restarted = await aiohttp_client(create_app(shop.settings))
    shop = dataclasses.replace(shop, client=restarted)
    await make_due(shop)
    assert await shop.reconcile() == 1
    assert (await shop.order(order_id)).status == "paid"


async def test_an_invoice_made_by_a_request_that_died_is_adopted_not_duplicated(
    shop_without_webhook,
):
    """The placing request had BTCPay create the invoice, then its process died before
    recording it (no error was recorded either). Once its claim lapses, the reconciler
    finds that invoice by orderId instead of opening a second one."""
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 1)
    ctx = shop.app[CHECKOUT]
    lines = service.price_cart(shop.app[CATALOG], {"EPD-1": 1})
    async with shop.app[DB]() as session, session.begin():
        order = await service.place_order(session, lines, None, "crash@example.com")
    made = await flow.create_invoice(ctx, order)  # what the placing request did
    # The process is gone; time passes beyond its claim on the order.
    async with shop.app[DB]() as session, session.begin():
        await session.execute(
            update(Order).where(Order.id == order.id).values(invoice_claimed_until=utcnow())
        )
    await make_due(shop)
    assert await shop.reconcile() == 1
    adopted = await shop.order(order.id)
    assert adopted.status == "awaiting_payment" and adopted.invoice_id == made.id
    assert [i.id for i in await ctx.client.find_invoices(order.id)] == [made.id]


async def test_one_pass_re_reads_every_due_order_not_only_one_batch(shop_without_webhook):
    # Found by the storm: with more due orders than a batch, a pass looked at one batch and
    # slept an interval, so paid orders whose webhook was lost waited interval after interval.
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 5)
    orders = [await shop.place_order(email=f"batch-{n}@example.com") for n in range(5)]
    for order_id in orders:
        await shop.pay(order_id, "pay", "confirm")
    await make_due(shop)
    ctx = shop.app[CHECKOUT]
    assert ctx.settings.reconcile_interval_seconds >= 60  # no second pass during the test
    task = asyncio.create_task(reconciler.async_run_reconciler(ctx, batch=2))
    try:
        for order_id in orders:
            assert (await shop.wait_status(order_id, "paid")).status == "paid"
    finally:
        await async_cancel_and_wait(task)
