"""Races settle in the database: one allocation per unit, one winner for the last unit.

With --e2e these run on PostgreSQL, where the transactions really interleave.
"""

from __future__ import annotations

import asyncio
import json
import uuid

from sqlalchemy import func, select

from cloud.app import create_app
from cloud.checkout import reconciler
from cloud.checkout.keys import CHECKOUT
from cloud.checkout.models import Order
from cloud.inventory.models import Ownership, StockUnit
from cloud.inventory.service import available_count
from cloud.payments.signature import sign_body
from cloud.web.keys import DB
from tests.cloud.checkout.test_reconciler import make_due


async def _ownerships(shop) -> int:
    async with shop.app[DB]() as session:
        return await session.scalar(select(func.count()).select_from(Ownership))


async def _settled_webhook(shop, invoice_id: str):
    delivery = uuid.uuid4().hex
    body = json.dumps(
        {
            "deliveryId": delivery,
            "webhookId": "hook",
            "originalDeliveryId": delivery,
            "isRedelivery": False,
            "type": "InvoiceSettled",
            "timestamp": 1_800_000_000,
            "storeId": shop.sim.store_id,
            "invoiceId": invoice_id,
            "metadata": {},
            "manuallyMarked": False,
            "overPaid": False,
        },
        indent=2,
    ).encode()
    sig = sign_body(shop.settings.btcpay.webhook_secret, body)
    response = await shop.client.post(
        "/webhooks/btcpay",
        data=body,
        headers={"BTCPay-Sig": sig, "Content-Type": "application/json"},
    )
    return response.status


async def test_webhooks_and_reconcilers_racing_allocate_exactly_once(
    shop_without_webhook, aiohttp_client
):
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 3)
    order_id = await shop.place_order("EPD-1", 2, email="race@example.com")
    await shop.pay(order_id, "pay", "confirm")
    replica = await aiohttp_client(create_app(shop.settings))
    await make_due(shop)
    invoice_id = await shop.invoice_id(order_id)
    results = await asyncio.gather(
        _settled_webhook(shop, invoice_id),
        _settled_webhook(shop, invoice_id),
        reconciler.reconcile_once(shop.app[CHECKOUT]),
        reconciler.reconcile_once(replica.app[CHECKOUT]),
        _settled_webhook(shop, invoice_id),
    )
    assert results[0] == results[1] == results[4] == 200
    assert (await shop.order(order_id)).status == "paid"
    assert await _ownerships(shop) == 2
    async with shop.app[DB]() as session:
        assert await available_count(session, "EPD-1") == 1
    await shop.smtp.wait_for("race@example.com")
    await asyncio.sleep(0.3)  # let any duplicate mail surface
    receipts = [
        m
        for m in shop.smtp.messages_to("race@example.com")
        if m["Subject"] == "Receipt for your Ethos order"
    ]
    assert len(receipts) == 1


async def test_two_buyers_race_for_the_last_unit_at_checkout(shop, aiohttp_client):
    await shop.add_stock("EPD-1", 1)
    second = await aiohttp_client(shop.client.server)
    await shop.add_to_cart("EPD-1")
    await shop.add_to_cart("EPD-1", client=second)
    first_answer, second_answer = await asyncio.gather(
        shop.submit_checkout("one@example.com"),
        shop.submit_checkout("two@example.com", client=second),
    )
    statuses = sorted([first_answer.status, second_answer.status])
    assert statuses == [303, 409]
    loser = first_answer if first_answer.status == 409 else second_answer
    text = await loser.text()
    # Which words depends on timing: the unit was sold, or is held by the other checkout.
    assert "Not enough stock. Ethos Presence Detector:" in text
    assert "none left" in text or "another buyer is checking out" in text
    async with shop.app[DB]() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
        assert await available_count(session, "EPD-1") == 0


async def test_buyers_racing_for_several_units_each_never_hold_more_than_the_stock(
    shop, aiohttp_client
):
    """Five units, four buyers of two each: two orders get two units each, the others are
    refused and hold nothing; one unit stays free."""
    await shop.add_stock("EPD-1", 5)
    buyers = [shop.client] + [await aiohttp_client(shop.client.server) for _ in range(3)]
    for buyer in buyers:
        await shop.add_to_cart("EPD-1", 2, client=buyer)
    answers = await asyncio.gather(
        *(shop.submit_checkout(f"b{n}@example.com", client=b) for n, b in enumerate(buyers))
    )
    assert sorted(answer.status for answer in answers) == [303, 303, 409, 409]
    async with shop.app[DB]() as session:
        orders = list(await session.scalars(select(Order.id)))
        held = dict(
            (
                await session.execute(
                    select(StockUnit.order_id, func.count())
                    .where(StockUnit.order_id.is_not(None))
                    .group_by(StockUnit.order_id)
                )
            ).all()
        )
        assert await available_count(session, "EPD-1") == 1
    assert len(orders) == 2
    assert held == {order_id: 2 for order_id in orders}


async def test_last_unit_sold_while_an_expired_invoice_is_then_settled(shop, aiohttp_client):
    """A's invoice expires (stock released), B buys the unit, then A's invoice is marked
    settled: A is paid but on backorder, with a mail saying so; B gets the device."""
    await shop.add_stock("EPD-1", 1)
    order_a = await shop.place_order(email="a@example.com")
    await shop.pay(order_a, "expire")
    await shop.wait_status(order_a, "expired")
    buyer_b = await aiohttp_client(shop.client.server)
    order_b = await shop.place_order(email="b@example.com", client=buyer_b)
    await shop.sim.mark(await shop.invoice_id(order_a), "Settled")
    await shop.wait_status(order_a, "backorder")
    await shop.pay(order_b, "pay", "confirm")
    await shop.wait_status(order_b, "paid")
    async with shop.app[DB]() as session:
        owners = list(await session.scalars(select(Ownership.order_id)))
    assert owners == [order_b]
    await shop.smtp.wait_for("a@example.com", count=2)  # expired, then backorder
    mails = [m["Subject"] for m in shop.smtp.messages_to("a@example.com")]
    assert "Your Ethos order is paid and on backorder" in mails
    page = await (await shop.client.get(f"/orders/{order_a}")).text()
    assert "Paid, on backorder" in page and "refund" in page
