"""The console's refund action: an operator refunds from the order's refund page; bad
amounts, a stale page and non-operators are refused with nothing written."""

from __future__ import annotations

import re
import secrets

from cloud.checkout import refunds
from cloud.web.keys import DB
from tests.cloud.admin.common import new_operator
from tests.cloud.common import csrf_from, sign_up_and_confirm

VERSION_RE = re.compile(r'name="version" value="(\d+)"')


async def _overpaid_order(shop) -> str:
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", 1, email=f"b-{secrets.token_hex(4)}@example.com")
    await shop.pay(order_id, "overpay", "confirm")
    await shop.wait_status(order_id, "paid")
    return order_id


async def _refund_rows(shop, order_id: str):
    async with shop.app[DB]() as session:
        return await refunds.refunds_of(session, order_id)


async def _post(shop, order_id: str, page: str, **fields: str):
    data = {
        "csrf_token": csrf_from(page),
        "version": VERSION_RE.search(page).group(1),
        **fields,
    }
    return await shop.client.post(
        f"/admin/orders/{order_id}/refund", data=data, allow_redirects=False
    )


async def test_an_operator_refunds_an_overpayment_from_the_console(shop):
    order_id = await _overpaid_order(shop)
    await new_operator(shop.client, shop.smtp, shop.settings, "op@example.org")
    path = f"/admin/orders/{order_id}/refund"
    detail = await (await shop.client.get(f"/admin/orders/{order_id}")).text()
    assert f'href="{path}"' in detail  # the order's console page leads to its refunds
    page = await (await shop.client.get(path)).text()
    order = await shop.order(order_id)
    paid = order.total * 12 / 10
    assert f"{paid:.2f} {order.currency}" in page  # what BTCPay says was paid
    assert 'value="OverpaidAmount" checked' in page

    too_much = await _post(shop, order_id, page, variant="Custom", amount=f"{paid + 1:.2f}")
    assert too_much.status == 422
    assert f"At most {paid:.2f} {order.currency} can be refunded" in await too_much.text()
    bad = await _post(shop, order_id, page, variant="Custom", amount="lots")
    assert bad.status == 422 and "Enter an amount such as 12.50." in await bad.text()
    assert await _refund_rows(shop, order_id) == []

    done = await _post(shop, order_id, page, variant="OverpaidAmount")
    assert done.status == 303 and done.headers["Location"] == f"{path}?refunded=1"
    after = await (await shop.client.get(done.headers["Location"])).text()
    assert "Refund created" in after and "Waiting for the buyer to claim it" in after
    (refund,) = await _refund_rows(shop, order_id)
    assert refund.claim_link in after

    stale = await _post(shop, order_id, page, variant="Custom", amount="1.00")  # old version
    assert stale.status == 409
    assert "Another operator changed this order" in await stale.text()
    assert len(await _refund_rows(shop, order_id)) == 1
    audit = await (await shop.client.get("/admin/audit")).text()
    assert "order.refund" in audit and "op@example.org" in audit


async def test_only_operators_see_or_use_the_refund_action(shop):
    order_id = await _overpaid_order(shop)
    await sign_up_and_confirm(shop.client, shop.smtp, "not-op@example.org")
    path = f"/admin/orders/{order_id}/refund"
    assert (await shop.client.get(path)).status == 403
    home = await (await shop.client.get("/")).text()
    response = await shop.client.post(
        path,
        data={"csrf_token": csrf_from(home), "variant": "OverpaidAmount", "version": "0"},
    )
    assert response.status == 403
    assert await _refund_rows(shop, order_id) == []
