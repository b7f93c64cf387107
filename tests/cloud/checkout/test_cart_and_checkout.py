"""Cart and checkout input: empty carts, stock, guest email, tampered cookies, access."""

from __future__ import annotations

import re

from cloud.checkout.cart import CART_COOKIE
from cloud.checkout.models import Order
from cloud.inventory.service import available_count
from cloud.web.keys import DB
from tests.cloud.common import (
    confirm_with_link,
    csrf_from,
    mailed_link,
    sign_up,
    sign_up_and_confirm,
)


async def _order_count(shop) -> int:
    from sqlalchemy import func, select

    async with shop.app[DB]() as session:
        return await session.scalar(select(func.count()).select_from(Order))


async def test_cart_adds_updates_and_removes(shop):
    await shop.add_to_cart("EPD-1", 2)
    await shop.add_to_cart("PLUG-OPEN", 1)
    cart = await (await shop.client.get("/api/v1/cart")).json()
    assert {line["sku"]: line["quantity"] for line in cart["lines"]} == {"EPD-1": 2, "PLUG-OPEN": 1}
    assert cart["total"] == str(
        sum(__import__("decimal").Decimal(x["subtotal"]) for x in cart["lines"])
    )
    page = await (await shop.client.get("/cart")).text()
    token = csrf_from(page)
    response = await shop.client.post(
        "/cart/update",
        data={"sku": "EPD-1", "quantity": "0", "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303
    cart = await (await shop.client.get("/api/v1/cart")).json()
    assert [line["sku"] for line in cart["lines"]] == ["PLUG-OPEN"]


async def test_cart_rejects_unknown_products_and_bad_quantities(shop):
    page = await (await shop.client.get("/products/EPD-1")).text()
    token = csrf_from(page)
    response = await shop.client.post("/cart/add", data={"sku": "NOPE", "csrf_token": token})
    assert response.status == 404
    for quantity in ("0", "11", "many", "-3"):
        response = await shop.client.post(
            "/cart/add",
            data={"sku": "EPD-1", "quantity": quantity, "csrf_token": token},
            headers={"Accept": "application/json"},
        )
        assert response.status == 422
        assert "quantity" in (await response.json())["fields"]


async def test_tampered_cart_cookie_is_an_empty_cart(shop):
    await shop.add_to_cart("EPD-1", 1)
    cookie = shop.client.session.cookie_jar.filter_cookies(shop.client.make_url("/"))[CART_COOKIE]
    value, _, signature = cookie.value.rpartition(".")
    jar = shop.client.session.cookie_jar
    jar.update_cookies({CART_COOKIE: f"EPD-1:9.{signature}"}, shop.client.make_url("/"))
    cart = await (await shop.client.get("/api/v1/cart")).json()
    assert cart["lines"] == [] and value == "EPD-1:1"


async def test_checkout_with_empty_cart_is_refused(shop):
    page = await (await shop.client.get("/checkout")).text()
    assert "Your cart is empty" in page
    # A stale tab posts the form anyway.
    token = csrf_from(await (await shop.client.get("/products/EPD-1")).text())
    response = await shop.client.post(
        "/checkout", data={"email": "guest@example.com", "csrf_token": token}
    )
    assert response.status == 409
    assert "Your cart is empty" in await response.text()
    assert await _order_count(shop) == 0


async def test_checkout_out_of_stock_is_refused_and_holds_nothing(shop):
    await shop.add_stock("EPD-1", 1)
    await shop.add_to_cart("EPD-1", 2)
    cart_page = await (await shop.client.get("/cart")).text()
    assert "only 1 left" in cart_page and 'action="/checkout"' not in cart_page
    response = await shop.submit_checkout("guest@example.com")
    assert response.status == 409
    assert "Not enough stock. Ethos Presence Detector: only 1 left." in await response.text()
    assert await _order_count(shop) == 0
    async with shop.app[DB]() as session:
        assert await available_count(session, "EPD-1") == 1


async def test_guest_checkout_needs_a_usable_email(shop):
    await shop.add_stock("EPD-1", 1)
    await shop.add_to_cart("EPD-1")
    for email in ("", "not-an-address", "a@" + "b" * 300 + ".com"):
        response = await shop.submit_checkout(email)
        assert response.status == 422
        assert 'id="email-error"' in await response.text()
    assert await _order_count(shop) == 0


async def test_guest_order_joins_the_account_when_its_email_is_confirmed(shop):
    stock = await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order(email="Later@Example.com")
    await shop.pay(order_id, "pay", "confirm")
    order = await shop.wait_status(order_id, "paid")
    assert order.user_id is None and order.email == "later@example.com"
    # The guest link works while the order has no account.
    assert (await shop.client.get(f"/api/v1/orders/{order_id}")).status == 200
    receipt = await shop.smtp.wait_for("later@example.com")
    while receipt["Subject"] != "Receipt for your Ethos order":
        receipt = await shop.smtp.wait_for("later@example.com", count=2)
    sent = len(shop.smtp.messages_to("later@example.com"))
    assert (await sign_up(shop.client, "later@example.com")).status == 200
    confirm = await mailed_link(shop.smtp, "later@example.com", count=sent + 1)
    assert (await confirm_with_link(shop.client, confirm)).status == 200
    response = await shop.client.get("/api/v1/me/devices")
    devices = await response.json()
    assert response.status == 200, devices
    assert [d["serial"] for d in devices] == list(stock)
    orders = await (await shop.client.get("/api/v1/orders")).json()
    assert [o["id"] for o in orders] == [order_id]


async def test_orders_and_devices_are_private(shop, aiohttp_client):
    await shop.add_stock("EPD-1", 1)
    await sign_up_and_confirm(shop.client, shop.smtp, "owner@example.com")
    order_id = await shop.place_order(email=None)
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")

    stranger = await aiohttp_client(shop.client.server)
    response = await stranger.get(f"/orders/{order_id}", allow_redirects=False)
    assert response.status == 303 and "/account/login" in response.headers["Location"]
    assert (await stranger.get(f"/api/v1/orders/{order_id}")).status == 401
    assert (await stranger.get("/api/v1/me/devices")).status == 401
    await sign_up_and_confirm(stranger, shop.smtp, "other@example.com")
    assert (await stranger.get(f"/api/v1/orders/{order_id}")).status == 404
    assert (await stranger.get(f"/orders/{order_id}/pay", allow_redirects=False)).status == 404
    assert (await stranger.get(f"/orders/{order_id}/invoice", allow_redirects=False)).status == 404
    assert await (await stranger.get("/api/v1/me/devices")).json() == []
    assert (await stranger.get("/orders/NoSuchOrderAtAll00000")).status == 404


async def test_openapi_document_lists_checkout_and_devices(shop):
    document = await (await shop.client.get("/api/v1/openapi.json")).json()
    paths = document["paths"]
    for path in ("/api/v1/cart", "/api/v1/orders", "/api/v1/orders/{order_id}"):
        assert "get" in paths[path]
    devices = paths["/api/v1/me/devices"]["get"]
    assert {"bearer": ["devices"]} in devices["security"]
    schema = document["components"]["schemas"]["DeviceOut"]
    assert {"serial", "sku", "name", "claim_secret"} <= set(schema["properties"])


async def test_check_out_is_a_button(shop):
    await shop.add_stock("EPD-1", 1)
    await shop.add_to_cart("EPD-1", 1)

    page = await (await shop.client.get("/cart")).text()

    assert re.search(
        r'<form method="get" action="/checkout"[^>]*>\s*'
        r'<button type="submit"[^>]*>Check out</button>',
        page,
    )
