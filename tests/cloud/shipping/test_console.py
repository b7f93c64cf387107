"""The operator ships from the console: a paid order is listed with its address, packed,
shipped with tracking (the buyer is mailed and sees it in their history), delivered; each
step audited; unpaid, stale (another operator acted) and bad input refused, nothing written."""

from __future__ import annotations

import re

from sqlalchemy import select

from cloud.admin.models import AuditEntry
from cloud.web.keys import DB
from tests.cloud.admin.common import new_operator
from tests.cloud.common import csrf_from, sign_up_and_confirm

VERSION_RE = (
    r'action="/admin/orders/{order}/(\w+)"[^>]*>\s*'
    r'<input type="hidden" name="csrf_token" value="[^"]+">\s*'
    r'<input type="hidden" name="version" value="(\d+)">'
)


async def _operator(shop, aiohttp_client, unique_id):
    client = await aiohttp_client(shop.client.server)
    await new_operator(client, shop.smtp, shop.settings, f"op-{unique_id}@example.org")
    return client


async def _step(client, order_id: str) -> tuple[str, str, str]:
    """The next step the queue offers for the order, the version it shows, a CSRF token."""
    html = await (await client.get("/admin/shipping")).text()
    match = re.search(VERSION_RE.format(order=re.escape(order_id)), html)
    assert match, f"no step offered for {order_id}"
    return match.group(1), match.group(2), csrf_from(html)


async def _audit(shop, target: str) -> list[str]:
    async with shop.app[DB]() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.target == target).order_by(AuditEntry.id)
        )
        return [row.action for row in rows]


async def test_operator_packs_ships_and_delivers_a_paid_order(shop, aiohttp_client, unique_id):
    buyer = f"buyer-{unique_id}@example.com"
    await shop.add_stock("EPD-1", 1)
    await sign_up_and_confirm(shop.client, shop.smtp, buyer)
    order_id = await shop.place_order("EPD-1", email=None)
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    operator = await _operator(shop, aiohttp_client, unique_id)

    # A buyer is not an operator.
    assert (await shop.client.get("/admin/shipping", allow_redirects=False)).status == 403

    html = await (await operator.get("/admin/shipping")).text()
    assert f'id="order-{order_id}"' in html
    assert "Ada Lovelace<br>12 St James&#39;s Square<br>SW1Y 4JH London<br>United Kingdom" in html
    step, version, token = await _step(operator, order_id)
    assert step == "pack"
    response = await operator.post(
        f"/admin/orders/{order_id}/pack",
        data={"version": version, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303
    # The same page posted again (another operator's tab): refused, nothing written.
    response = await operator.post(
        f"/admin/orders/{order_id}/pack", data={"version": version, "csrf_token": token}
    )
    assert response.status == 409
    assert "Another operator changed this order" in await response.text()
    assert await _audit(shop, f"order:{order_id}") == ["order.packed"]

    step, version, token = await _step(operator, order_id)
    assert step == "ship"
    response = await operator.post(
        f"/admin/orders/{order_id}/ship",
        data={"version": version, "csrf_token": token, "carrier": "DHL", "tracking_number": "?"},
    )
    assert response.status == 422
    assert 'id="tracking_number-error"' in await response.text()
    assert (await shop.order(order_id)).fulfilment == "packed"

    mails = len(shop.smtp.messages_to(buyer))
    response = await operator.post(
        f"/admin/orders/{order_id}/ship",
        data={
            "version": version,
            "csrf_token": token,
            "carrier": "DHL",
            "tracking_number": "JD014600006281",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    message = await shop.smtp.wait_for(buyer, count=mails + 1)
    assert "JD014600006281" in message.get_content()
    history = await (await shop.client.get("/orders")).text()
    assert 'class="tracking-number">JD014600006281<' in history
    page = await (await shop.client.get(f"/orders/{order_id}")).text()
    assert "with DHL, tracking number" in page

    detail = await (await operator.get(f"/admin/orders/{order_id}")).text()
    assert "Shipping: shipped with DHL, tracking <code>JD014600006281</code>" in detail

    step, version, token = await _step(operator, order_id)
    assert step == "deliver"
    response = await operator.post(
        f"/admin/orders/{order_id}/deliver",
        data={"version": version, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert f'id="order-{order_id}"' not in await (await operator.get("/admin/shipping")).text()
    assert await _audit(shop, f"order:{order_id}") == [
        "order.packed",
        "order.shipped",
        "order.delivered",
    ]


async def test_shipping_an_unpaid_order_is_refused(shop, aiohttp_client, unique_id):
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", email="unpaid@example.com")
    operator = await _operator(shop, aiohttp_client, unique_id)
    html = await (await operator.get("/admin/shipping")).text()
    assert f'id="order-{order_id}"' not in html  # only paid orders wait for shipping
    order = await shop.order(order_id)
    for action in ("pack", "ship"):
        response = await operator.post(
            f"/admin/orders/{order_id}/{action}",
            data={
                "version": str(order.version),
                "csrf_token": csrf_from(html),
                "carrier": "DHL",
                "tracking_number": "JD014600006281",
            },
        )
        assert response.status == 409
        assert "Only a paid order can be" in await response.text()
    after = await shop.order(order_id)
    assert after.fulfilment is None and after.version == order.version
    assert await _audit(shop, f"order:{order_id}") == []
