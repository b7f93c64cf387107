"""BTCPay answering 400/401/422/5xx, timing out or down: the order stays intact, with a clear
message and a retry, and never gets two invoices."""

from __future__ import annotations

import dataclasses

import pytest

from cloud.app import create_app
from cloud.inventory.service import available_count
from cloud.web.keys import DB
from tests.cloud.common import csrf_from
from tests.support import processes


async def _invoices_for(shop, order_id: str) -> list[dict]:
    status, invoices = await shop.sim.call(
        "GET", f"/api/v1/stores/{shop.sim.store_id}/invoices?orderId={order_id}"
    )
    assert status == 200
    return invoices


async def _retry(shop, order_id: str, token: str | None = None):
    """Press "Try again" (a second press reuses the token of the page it was on)."""
    if token is None:
        page = await shop.client.get(f"/orders/{order_id}")
        token = csrf_from(await page.text())
    return await shop.client.post(
        f"/orders/{order_id}/invoice", data={"csrf_token": token}, allow_redirects=False
    )


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (503, "BTCPay Server is unavailable (HTTP 503)"),
        (500, "BTCPay Server is unavailable (HTTP 500)"),
        (400, "BTCPay Server refused the invoice (simulated failure)"),
        (401, "refused the shop credentials"),
        ("timeout", "did not answer in time"),
    ],
)
async def test_failed_invoice_keeps_the_order_and_can_be_retried(shop, fault, message):
    await shop.add_stock("EPD-1", 1)
    await shop.sim.fail_next(fault, delay=2)
    order_id = await shop.place_order()
    order = await shop.order(order_id)
    assert order.status == "awaiting_invoice" and order.invoice_id is None
    assert message in order.payment_problem
    page = await (await shop.client.get(f"/orders/{order_id}")).text()
    assert "Payment not ready" in page and message in page and "Try again" in page
    async with shop.app[DB]() as session:
        assert await available_count(session, "EPD-1") == 0  # still held for this order
    response = await _retry(shop, order_id)
    assert response.status == 303 and response.headers["Location"] == f"/orders/{order_id}"
    order = await shop.order(order_id)
    assert order.status == "awaiting_payment" and order.payment_problem is None
    assert len(await _invoices_for(shop, order_id)) == 1


async def test_validation_error_from_btcpay_is_shown(shop):
    await shop.add_stock("EPD-1", 1)
    await shop.sim.fail_next(422)
    order_id = await shop.place_order()
    problem = (await shop.order(order_id)).payment_problem
    assert problem == "BTCPay Server refused the invoice (amount: simulated failure)."


async def test_invoice_created_but_answer_lost_is_adopted_not_duplicated(shop_without_webhook):
    """BTCPay made the invoice but answered too late: the retry finds it by orderId."""
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 1)
    await shop.sim.fail_next("slow", delay=2)  # the store's timeout is 1 s
    order_id = await shop.place_order()
    assert "did not answer in time" in (await shop.order(order_id)).payment_problem
    [existing] = await _invoices_for(shop, order_id)
    token = csrf_from(await (await shop.client.get(f"/orders/{order_id}")).text())
    await _retry(shop, order_id, token)
    await _retry(shop, order_id, token)  # a second press changes nothing
    order = await shop.order(order_id)
    assert order.invoice_id == existing["id"] and order.status == "awaiting_payment"
    assert len(await _invoices_for(shop, order_id)) == 1


async def test_lost_answer_is_adopted_from_the_invoicecreated_webhook(shop):
    await shop.add_stock("EPD-1", 1)
    await shop.sim.fail_next("slow", delay=2)
    order_id = await shop.place_order()
    [existing] = await _invoices_for(shop, order_id)
    order = await shop.wait_status(order_id, "awaiting_payment")
    assert order.invoice_id == existing["id"] and order.checkout_link
    assert len(await _invoices_for(shop, order_id)) == 1


async def test_btcpay_unreachable(aiohttp_client, cloud_settings, smtp_server, sim):
    from tests.cloud.checkout.shop import open_shop

    shop = await open_shop(aiohttp_client, cloud_settings, sim, smtp_server, with_webhook=False)
    dead = dataclasses.replace(
        shop.settings,
        btcpay=dataclasses.replace(
            shop.settings.btcpay, url=f"http://127.0.0.1:{processes.free_port()}"
        ),
    )
    await shop.client.close()
    client = await aiohttp_client(create_app(dead))
    shop = dataclasses.replace(shop, client=client, settings=dead)
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order()
    order = await shop.order(order_id)
    assert order.status == "awaiting_invoice"
    assert order.payment_problem == "BTCPay Server cannot be reached right now."
