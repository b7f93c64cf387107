"""A buyer's whole purchase through the store pages, paid through the BTCPay simulator."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.cloud.common import sign_up_and_confirm


async def test_signed_in_buyer_pays_and_owns_the_device(shop):
    stock = await shop.add_stock("EPD-1", 1)
    await sign_up_and_confirm(shop.client, shop.smtp, "ada@example.com")
    order_id = await shop.place_order("EPD-1", 1, email=None)

    page = await (await shop.client.get(f"/orders/{order_id}")).text()
    assert "Waiting for payment" in page
    assert f'href="/orders/{order_id}/pay"' in page
    pay = await shop.client.get(f"/orders/{order_id}/pay", allow_redirects=False)
    assert pay.status == 303
    checkout_link = pay.headers["Location"]
    assert checkout_link.startswith(shop.sim.url + "/i/")

    invoice_id = await shop.invoice_id(order_id)
    await shop.sim.act(invoice_id, "pay")
    await shop.wait_status(order_id, "confirming")
    await shop.sim.act(invoice_id, "confirm")
    await shop.wait_status(order_id, "paid")

    devices = await (await shop.client.get("/api/v1/me/devices")).json()
    [serial] = stock
    assert devices == [
        {
            "serial": serial,
            "sku": "EPD-1",
            "name": "Ethos Presence Detector",
            "claim_secret": stock[serial],
            "order_id": order_id,
        }
    ]
    receipt = await shop.smtp.wait_for("ada@example.com", count=3)  # confirm, confirming, paid
    assert receipt["Subject"] == "Receipt for your Ethos order"
    assert serial in receipt.get_content()
    history = await (await shop.client.get("/orders")).text()
    assert order_id in history and "Paid" in history
    devices_page = await (await shop.client.get("/devices")).text()
    assert serial in devices_page


async def test_paid_order_page_keeps_the_link_to_its_invoice(shop):
    await shop.add_stock("EPD-1", 1)
    await sign_up_and_confirm(shop.client, shop.smtp, "ada@example.com")
    order_id = await shop.place_order("EPD-1", 1, email=None)
    invoice_id = await shop.invoice_id(order_id)
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")

    page = await (await shop.client.get(f"/orders/{order_id}")).text()

    assert f'href="/orders/{order_id}/pay"' not in page  # nothing left to pay
    assert f'<a href="/orders/{order_id}/invoice">View the invoice {invoice_id}</a>' in page
    invoice = await shop.client.get(f"/orders/{order_id}/invoice", allow_redirects=False)
    assert invoice.status == 303
    assert invoice.headers["Location"] == f"{shop.sim.url}/i/{invoice_id}"


async def test_checkout_redirects_to_our_order_page_not_to_btcpay(shop):
    """CSP form-action 'self' also covers redirects after a form POST (Chrome)."""
    await shop.add_stock("EPD-1", 1)
    await shop.add_to_cart("EPD-1")
    response = await shop.submit_checkout("guest@example.com")
    assert response.status == 303
    location = response.headers["Location"]
    assert urlsplit(location).netloc == "" and location.startswith("/orders/")
    order_page = await shop.client.get(location)
    assert "form-action 'self'" in order_page.headers["Content-Security-Policy"]
    page = await order_page.text()
    # Paying is a link (a GET navigation), not a form: form-action does not apply to it.
    assert f'<a class="button pay" href="{location}/pay">' in page
    assert f'action="{location}/pay"' not in page
    pay = await shop.client.get(f"{location}/pay", allow_redirects=False)
    assert pay.status == 303 and pay.headers["Location"].startswith(shop.sim.url + "/i/")


async def test_the_receipt_lists_every_unit_sold_in_serial_order(shop):
    """The paid mail's serials come from the allocation itself (no second query)."""
    stock = await shop.add_stock("EPD-1", 3)
    await sign_up_and_confirm(shop.client, shop.smtp, "ada@example.com")
    order_id = await shop.place_order("EPD-1", 2, email=None)
    invoice_id = await shop.invoice_id(order_id)
    await shop.sim.act(invoice_id, "pay")
    await shop.wait_status(order_id, "confirming")
    await shop.sim.act(invoice_id, "confirm")
    await shop.wait_status(order_id, "paid")

    devices = await (await shop.client.get("/api/v1/me/devices")).json()
    sold = sorted(device["serial"] for device in devices)
    receipt = await shop.smtp.wait_for("ada@example.com", count=3)  # confirm, confirming, paid
    assert receipt["Subject"] == "Receipt for your Ethos order"
    assert len(sold) == 2 and set(sold) <= set(stock)
    assert f"Your devices: {sold[0]}, {sold[1]}\n" in receipt.get_content()
