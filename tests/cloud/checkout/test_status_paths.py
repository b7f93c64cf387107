"""Every invoice path moves the order to a status and mail the buyer understands."""

from __future__ import annotations

import pytest

from cloud.inventory.service import available_count
from cloud.web.keys import DB


async def _available(shop, sku: str = "EPD-1") -> int:
    async with shop.app[DB]() as session:
        return await available_count(session, sku)


@pytest.mark.parametrize(
    ("actions", "status", "subject", "stock_left"),
    [
        (("pay",), "confirming", "We received your payment", 0),
        (("pay", "confirm"), "paid", "Receipt for your Ethos order", 0),
        (("pay-part",), "part_paid", "Your Ethos order is partly paid", 0),
        (("expire",), "expired", "Your Ethos order expired", 1),
        (
            ("pay-part", "expire"),
            "expired_part_paid",
            "Your Ethos order expired after a partial payment",
            1,
        ),
        (("overpay", "confirm"), "paid", "Receipt for your Ethos order", 0),
        (("expire", "pay"), "paid_late", "Your payment arrived after the invoice expired", 1),
    ],
)
async def test_invoice_path(shop, actions, status, subject, stock_left):
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order(email="buyer@example.com")
    assert await _available(shop) == 0  # reserved while the invoice is open
    await shop.pay(order_id, *actions)
    order = await shop.wait_status(order_id, status)
    mail = await shop.smtp.wait_for("buyer@example.com")
    assert [m["Subject"] for m in shop.smtp.messages_to("buyer@example.com")][-1] == subject
    assert await _available(shop) == stock_left
    page = await (await shop.client.get(f"/orders/{order_id}")).text()
    assert f'data-status="{status}"' in page
    if "overpay" in actions:
        assert order.invoice_additional_status == "PaidOver"
        assert "refund the difference" in page
    assert mail is not None


async def test_settled_ships_only_on_settled(shop):
    """Processing (paid, unconfirmed) allocates nothing; Settled allocates."""
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order()
    await shop.pay(order_id, "pay")
    await shop.wait_status(order_id, "confirming")
    api = await (await shop.client.get(f"/api/v1/orders/{order_id}")).json()
    assert api["devices"] == [] and api["status_label"] == "Payment received, confirming"
    await shop.pay(order_id, "confirm")
    await shop.wait_status(order_id, "paid")
    api = await (await shop.client.get(f"/api/v1/orders/{order_id}")).json()
    assert len(api["devices"]) == 1


async def test_marked_settled_after_expiry(shop):
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order()
    await shop.pay(order_id, "expire")
    await shop.wait_status(order_id, "expired")
    await shop.sim.mark(await shop.invoice_id(order_id), "Settled")
    order = await shop.wait_status(order_id, "paid")
    assert order.invoice_additional_status == "Marked"
    page = await (await shop.client.get(f"/orders/{order_id}")).text()
    assert "recorded this payment by hand" in page


async def test_marked_invalid_while_confirming_releases_stock(shop):
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order(email="inv@example.com")
    await shop.pay(order_id, "pay")
    await shop.wait_status(order_id, "confirming")
    await shop.sim.mark(await shop.invoice_id(order_id), "Invalid")
    await shop.wait_status(order_id, "invalid")
    assert await _available(shop) == 1
    await shop.smtp.wait_for("inv@example.com", count=2)
    assert shop.smtp.messages_to("inv@example.com")[-1]["Subject"] == "Your Ethos payment failed"


async def test_paid_order_never_moves_back(shop):
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order()
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    await shop.sim.mark(await shop.invoice_id(order_id), "Invalid")
    # The Invalid webhook arrives and is answered; the order stays paid with its device.
    delivery = await shop.wait_delivery("InvoiceInvalid")
    assert delivery["status"] == "HttpSuccess"
    order = await shop.order(order_id)
    assert order.status == "paid"
    api = await (await shop.client.get(f"/api/v1/orders/{order_id}")).json()
    assert len(api["devices"]) == 1
