"""The webhook log: every delivery, verified or forged, with its answer; bodies bounded,
secrets never kept; an operator asks BTCPay to redeliver one (audited)."""

from __future__ import annotations

import asyncio
import json
import re

from sqlalchemy import select

from cloud.admin.models import AuditEntry
from cloud.payments.models import WebhookReceipt
from cloud.payments.signature import sign_body
from cloud.payments.webhook_log import BODY_LIMIT, UNVERIFIED_PER_MINUTE
from cloud.web.keys import DB
from tests.cloud.admin.common import new_operator
from tests.cloud.checkout.shop import Shop
from tests.cloud.common import csrf_from


async def _receipts(shop: Shop) -> list[WebhookReceipt]:
    async with shop.app[DB]() as session:
        return list(
            (await session.scalars(select(WebhookReceipt).order_by(WebhookReceipt.id))).all()
        )


async def test_forged_oversized_and_real_deliveries_are_all_logged(shop: Shop):
    secret = shop.settings.btcpay.webhook_secret
    assert secret
    forged = json.dumps({"deliveryId": "forged-1", "type": "InvoiceSettled", "invoiceId": "X"})
    response = await shop.client.post(
        "/webhooks/btcpay", data=forged, headers={"BTCPay-Sig": "sha256=" + "0" * 64}
    )
    assert response.status == 401
    big = json.dumps({"deliveryId": "big-1", "type": "Unknown", "pad": "x" * (3 * BODY_LIMIT)})
    response = await shop.client.post(
        "/webhooks/btcpay", data=big, headers={"BTCPay-Sig": sign_body(secret, big.encode())}
    )
    assert response.status == 200

    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", 1, email="a@example.org")
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    await shop.wait_delivery("InvoiceSettled")

    receipts = await _receipts(shop)
    first, second = receipts[0], receipts[1]
    assert (first.delivery_id, first.verified, first.http_status) == ("forged-1", False, 401)
    assert "signature" in first.outcome and first.body == forged
    assert (second.delivery_id, second.verified, second.body_truncated) == ("big-1", True, True)
    assert len(second.body) == BODY_LIMIT
    invoice_id = await shop.invoice_id(order_id)
    real = [r for r in receipts if r.invoice_id == invoice_id]
    assert {r.event_type for r in real} >= {"InvoiceCreated", "InvoiceSettled"}
    assert all(r.verified and r.http_status == 200 and r.webhook_id for r in real)
    assert any(r.outcome == "paid" for r in real)
    for row in receipts:  # neither the secret nor a signature is ever stored
        assert secret not in row.body and "sha256=" not in row.body

    await new_operator(shop.client, shop.smtp, shop.settings, "op@example.org")
    page = await (await shop.client.get("/admin/webhooks", params={"verified": "no"})).text()
    assert page.count('<tr class="receipt unverified">') == 1 and "forged-1" in page
    page = await (await shop.client.get("/admin/webhooks", params={"invoice": invoice_id})).text()
    assert page.count('<tr class="receipt') == len(real) and "forged-1" not in page


async def test_an_operator_asks_btcpay_to_redeliver_a_delivery(shop: Shop):
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", 1, email="a@example.org")
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    settled = await shop.wait_delivery("InvoiceSettled")
    forged = json.dumps({"deliveryId": "forged-2", "webhookId": shop.webhook["id"]})
    await shop.client.post("/webhooks/btcpay", data=forged, headers={"BTCPay-Sig": "sha256=00"})
    await new_operator(shop.client, shop.smtp, shop.settings, "op@example.org")

    receipts = await _receipts(shop)
    original = next(r for r in receipts if r.delivery_id == settled["id"])
    unverified = next(r for r in receipts if r.delivery_id == "forged-2")
    page = await (await shop.client.get(f"/admin/orders/{order_id}")).text()
    assert f'action="/admin/webhooks/{original.id}/redeliver"' in page
    assert f'action="/admin/webhooks/{unverified.id}/redeliver"' not in page
    token = csrf_from(page)

    response = await shop.client.post(
        f"/admin/webhooks/{original.id}/redeliver",
        data={"csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303

    async def redelivered() -> WebhookReceipt | None:
        for row in await _receipts(shop):
            if row.original_delivery_id == settled["id"] != row.delivery_id:
                return row
        return None

    again = None
    for _ in range(200):  # the redelivery travels asynchronously
        again = await redelivered()
        if again is not None:
            break
        await asyncio.sleep(0.05)
    assert again is not None and again.verified and again.outcome == "duplicate", again

    async with shop.app[DB]() as session:
        entry = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "webhook.redelivery_requested")
            )
        ).one()
    assert entry.target == f"delivery:{settled['id']}" and again.delivery_id in entry.details

    response = await shop.client.post(
        f"/admin/webhooks/{unverified.id}/redeliver", data={"csrf_token": token}
    )
    assert response.status == 409
    assert "verified" in await response.text()
    response = await shop.client.post(
        "/admin/webhooks/999999/redeliver", data={"csrf_token": token}
    )
    assert response.status == 404
    assert re.search(
        r"webhook.redelivery_requested", await (await shop.client.get("/admin/audit")).text()
    )


async def test_a_flood_of_forgeries_cannot_fill_the_log(shop: Shop):
    for n in range(UNVERIFIED_PER_MINUTE + 5):
        response = await shop.client.post(
            "/webhooks/btcpay", data=f'{{"deliveryId": "flood-{n}"}}', headers={"BTCPay-Sig": "x"}
        )
        assert response.status == 401
    secret = shop.settings.btcpay.webhook_secret or ""
    genuine = json.dumps({"deliveryId": "genuine-1", "type": "Unknown"})
    response = await shop.client.post(
        "/webhooks/btcpay",
        data=genuine,
        headers={"BTCPay-Sig": sign_body(secret, genuine.encode())},
    )
    assert response.status == 200
    receipts = await _receipts(shop)
    assert len([r for r in receipts if not r.verified]) == UNVERIFIED_PER_MINUTE
    assert [r.delivery_id for r in receipts if r.verified] == ["genuine-1"]
