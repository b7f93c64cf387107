"""A buyer cancels an unpaid order (issue #18, item 8): the invoice is marked Invalid at
BTCPay, the held unit goes back on sale, and the order's timeline says so. Refused clearly,
with nothing changed, once a payment arrived, for someone else's order, or while BTCPay
cannot be reached."""

from __future__ import annotations

import re

from tests.cloud.common import csrf_from, sign_up_and_confirm


async def _cancel(client, order_id: str):
    page = await client.get(f"/orders/{order_id}")
    text = await page.text()
    assert 'id="cancel-order"' in text, "no cancel button on the order page"
    return await client.post(
        f"/orders/{order_id}/cancel",
        data={"csrf_token": csrf_from(text)},
        allow_redirects=False,
    )


async def test_cancelling_an_unpaid_order_voids_the_invoice_and_frees_the_unit(shop):
    await shop.add_stock("EPD-1", 1)
    await sign_up_and_confirm(shop.client, shop.smtp, "ada@example.com")
    order_id = await shop.place_order("EPD-1", 1, email=None)
    invoice_id = await shop.invoice_id(order_id)

    response = await _cancel(shop.client, order_id)

    assert response.status == 303 and response.headers["Location"] == f"/orders/{order_id}"
    order = await shop.order(order_id)
    assert order.status == "cancelled" and order.cancelled_at is not None
    assert (await shop.sim.invoice(invoice_id))["status"] == "Invalid"
    page = await (await shop.client.get(f"/orders/{order_id}")).text()
    assert 'data-status="cancelled"' in page and 'id="cancel-order"' not in page
    assert re.findall(r'data-step="(\w+)"', page) == ["created", "cancelled"]
    # BTCPay's news of the marking arrives and changes nothing.
    await shop.wait_delivery("InvoiceInvalid")
    assert (await shop.order(order_id)).status == "cancelled"
    # The unit is free again: someone else can buy it.
    shop.client.session.cookie_jar.clear()
    again = await shop.place_order("EPD-1", 1, email="bob@example.com")
    assert (await shop.order(again)).status == "awaiting_payment"
    history = await (await shop.client.get(f"/orders/{again}")).text()
    assert "Waiting for payment" in history


async def test_a_payment_that_arrived_first_is_never_voided(shop_without_webhook):
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", 1, email="guest@example.com")
    invoice_id = await shop.invoice_id(order_id)
    await shop.sim.act(invoice_id, "pay")  # BTCPay has it; the store has not heard yet

    response = await _cancel(shop.client, order_id)

    assert response.status == 409
    text = await response.text()
    assert 'data-refusal="payment_arrived"' in text
    assert (await shop.order(order_id)).status == "confirming"  # the page shows the truth
    assert (await shop.sim.invoice(invoice_id))["status"] == "Processing"


async def test_a_paid_order_offers_no_cancel_and_refuses_one(shop):
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", 1, email="guest@example.com")
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    page = await (await shop.client.get(f"/orders/{order_id}")).text()
    assert 'id="cancel-order"' not in page
    form_page = await (await shop.client.get("/account/login")).text()

    response = await shop.client.post(
        f"/orders/{order_id}/cancel", data={"csrf_token": csrf_from(form_page)}
    )

    assert response.status == 409
    assert "Only an unpaid order" in await response.text()
    assert (await shop.order(order_id)).status == "paid"


async def test_another_account_cannot_cancel_my_order(shop, aiohttp_client):
    await shop.add_stock("EPD-1", 1)
    await sign_up_and_confirm(shop.client, shop.smtp, "ada@example.com")
    order_id = await shop.place_order("EPD-1", 1, email=None)
    other = await aiohttp_client(shop.client.server)
    await sign_up_and_confirm(other, shop.smtp, "eve@example.com")
    page = await (await other.get("/account")).text()

    response = await other.post(f"/orders/{order_id}/cancel", data={"csrf_token": csrf_from(page)})

    assert response.status == 404
    assert (await shop.order(order_id)).status == "awaiting_payment"


async def test_btcpay_down_cancels_nothing(shop):
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", 1, email="guest@example.com")
    invoice_id = await shop.invoice_id(order_id)
    # Aimed at marking the invoice invalid: the InvoiceCreated webhook's re-fetch of the
    # invoice, racing this test, would otherwise take the failure (and the cancel succeed).
    await shop.sim.fail_next(
        503,
        method="POST",
        path=f"/api/v1/stores/{shop.sim.store_id}/invoices/{invoice_id}/status",
    )

    response = await _cancel(shop.client, order_id)

    assert response.status == 503
    assert "Nothing was cancelled." in await response.text()
    assert (await shop.order(order_id)).status == "awaiting_payment"
    assert (await shop.sim.invoice(invoice_id))["status"] == "New"


async def test_the_api_shows_the_timeline_and_cancels(shop):
    await shop.add_stock("EPD-1", 1)
    await sign_up_and_confirm(shop.client, shop.smtp, "ada@example.com")
    order_id = await shop.place_order("EPD-1", 1, email=None)
    before = await (await shop.client.get(f"/api/v1/orders/{order_id}")).json()
    assert before["cancellable"] is True
    assert [step["step"] for step in before["timeline"]] == ["created"]

    response = await shop.client.post(f"/api/v1/orders/{order_id}/cancel", json={})

    assert response.status == 200
    body = await response.json()
    assert body["status"] == "cancelled" and body["cancellable"] is False
    assert [step["step"] for step in body["timeline"]] == ["created", "cancelled"]
    again = await shop.client.post(f"/api/v1/orders/{order_id}/cancel", json={})
    assert again.status == 409 and (await again.json())["code"] == "already_cancelled"
