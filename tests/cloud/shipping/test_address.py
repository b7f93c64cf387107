"""The checkout's shipping address: every field checked with a clear message, nothing
written on a fault, sealed at rest (no address readable in the database)."""

from __future__ import annotations

import re

from sqlalchemy import func, select, text

from cloud.checkout.models import Order
from cloud.shipping import service as shipping
from cloud.shipping.address import COUNTRIES
from cloud.shipping.models import ShippingAddress
from cloud.web.keys import DB
from tests.cloud.common import SHIPPING_ADDRESS, csrf_from


async def _post_checkout(shop, **fields: str):
    page = await shop.client.get("/checkout")
    data = {
        "csrf_token": csrf_from(await page.text()),
        "email": "buyer@example.com",
        **SHIPPING_ADDRESS,
        **fields,
    }
    return await shop.client.post("/checkout", data=data, allow_redirects=False)


async def _counts(shop) -> tuple[int, int]:
    async with shop.app[DB]() as session:
        orders = await session.scalar(select(func.count()).select_from(Order))
        addresses = await session.scalar(select(func.count()).select_from(ShippingAddress))
    return orders or 0, addresses or 0


async def test_checkout_refuses_a_bad_address_field_by_field_and_writes_nothing(shop):
    await shop.add_stock("EPD-1", 1)
    await shop.add_to_cart("EPD-1")
    page = await (await shop.client.get("/checkout")).text()
    for name in ("ship_name", "ship_line1", "ship_postcode", "ship_city", "ship_country"):
        assert f'name="{name}"' in page
    # Every country we ship to is offered, none chosen yet.
    offered = re.findall(r'<option value="([A-Z]{2})"( selected)?>([^<]+)</option>', page)
    assert {code: name for code, _, name in offered} == COUNTRIES
    assert not any(chosen for _, chosen, _ in offered)
    cases = {
        "ship_name": ("", "Enter a name."),
        "ship_line1": ("  ", "Enter a street and number."),
        "ship_postcode": ("#12", "Enter the postcode"),
        "ship_city": ("x" * 81, "Keep it under 80 characters."),
        "ship_country": ("US", "Choose a country we ship to."),
    }
    for name, (value, message) in cases.items():
        response = await _post_checkout(shop, **{name: value})
        assert response.status == 422, name
        html = await response.text()
        assert f'id="{name}-error"' in html and message in html, name
        # What was typed stays in the form, the country chosen too.
        assert 'value="Ada Lovelace"' in html or name == "ship_name"
        chosen = re.findall(r'<option value="([A-Z]*)" selected>', html)
        assert chosen == ([] if name == "ship_country" else [SHIPPING_ADDRESS["ship_country"]])
    response = await _post_checkout(shop, ship_name="", email="not-an-address")
    html = await response.text()
    assert 'id="ship_name-error"' in html and 'id="email-error"' in html
    assert await _counts(shop) == (0, 0)


async def test_the_address_is_sealed_at_rest_and_bound_to_its_order(shop):
    await shop.add_stock("EPD-1", 2)
    first = await shop.place_order("EPD-1", email="buyer@example.com")
    second = await shop.place_order("EPD-1", email="other@example.com")
    async with shop.app[DB]() as session:
        raw = await session.scalar(
            text("SELECT sealed FROM shipping_addresses WHERE order_id = :id"), {"id": first}
        )
        stored = await shipping.address_of(session, shop.settings.secret_key, first)
    assert raw and "Lovelace" not in raw and "London" not in raw
    assert stored.address is not None
    assert stored.address.lines() == [
        "Ada Lovelace",
        "12 St James's Square",
        "SW1Y 4JH London",
        "United Kingdom",
    ]
    # A sealed address copied onto another order does not open there.
    async with shop.app[DB]() as session, session.begin():
        await session.execute(
            text("UPDATE shipping_addresses SET sealed = :s WHERE order_id = :id"),
            {"s": raw, "id": second},
        )
    async with shop.app[DB]() as session:
        try:
            await shipping.address_of(session, shop.settings.secret_key, second)
        except Exception as err:  # cryptography's InvalidTag
            assert type(err).__name__ == "InvalidTag"
        else:
            raise AssertionError("a copied address opened on another order")
    page = await (await shop.client.get(f"/orders/{first}")).text()
    assert "Ships to Ada Lovelace, SW1Y 4JH London, United Kingdom." in page
