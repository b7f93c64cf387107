"""`POST /webhooks/btcpay`: forged, replayed, reordered, duplicated, unknown and tampered input.

Each gets a clear answer (4xx where BTCPay must not retry, 2xx when there is nothing to do,
5xx only when a retry can help) and leaves orders, stock and ownership consistent.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace

from sqlalchemy import func, select

from cloud.app import create_app
from cloud.inventory.models import Ownership
from cloud.payments.models import InvoiceEvent, ProcessedDelivery, WebhookReceipt
from cloud.payments.signature import sign_body
from cloud.web.keys import DB


def event(shop, invoice_id: str, kind: str = "InvoiceSettled", **extra) -> dict:
    delivery = uuid.uuid4().hex
    return {
        "deliveryId": delivery,
        "webhookId": "hook",
        "originalDeliveryId": delivery,
        "isRedelivery": False,
        "type": kind,
        "timestamp": 1_800_000_000,
        "storeId": shop.sim.store_id,
        "invoiceId": invoice_id,
        "metadata": {},
        **extra,
    }


async def post(shop, payload: dict | None = None, *, body: bytes | None = None, sig=True):
    raw = body if body is not None else json.dumps(payload, indent=2).encode()
    headers = {"Content-Type": "application/json"}
    if sig is True:
        headers["BTCPay-Sig"] = sign_body(shop.settings.btcpay.webhook_secret, raw)
    elif sig:
        headers["BTCPay-Sig"] = sig
    response = await shop.client.post("/webhooks/btcpay", data=raw, headers=headers)
    return response.status, await response.json()


async def paid_order(shop) -> tuple[str, str]:
    """An order whose invoice is settled in BTCPay, but no webhook has told the store."""
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order()
    invoice_id = await shop.invoice_id(order_id)
    await shop.sim.act(invoice_id, "pay")
    await shop.sim.act(invoice_id, "confirm")
    return order_id, invoice_id


async def test_forged_or_missing_signature_is_refused_with_4xx(shop_without_webhook):
    shop = shop_without_webhook
    order_id, invoice_id = await paid_order(shop)
    payload = event(shop, invoice_id)
    for sig in (False, "sha256=" + "0" * 64, "sha1=abc", sign_body("wrong-secret", b"{}")):
        status, answer = await post(shop, payload, sig=sig)
        assert status == 401 and "signature" in answer["error"]
    # A body changed after signing fails too (the signature covers the raw bytes).
    raw = json.dumps(payload, indent=2).encode()
    good = sign_body(shop.settings.btcpay.webhook_secret, raw)
    status, _ = await post(shop, body=json.dumps(payload).encode(), sig=good)
    assert status == 401
    assert (await shop.order(order_id)).status == "awaiting_payment"
    status, answer = await post(shop, payload)
    assert status == 200 and answer["status"] == "paid"


async def test_malformed_body_with_valid_signature_is_400(shop_without_webhook):
    for body in (b"not json", b"[]", b'{"type": "InvoiceSettled"}'):
        status, answer = await post(shop_without_webhook, body=body)
        assert status == 400 and answer["error"]


async def test_unknown_event_types_and_invoices_get_2xx_and_change_nothing(shop_without_webhook):
    shop = shop_without_webhook
    order_id, invoice_id = await paid_order(shop)
    status, answer = await post(shop, event(shop, invoice_id, "PayoutCreated"))
    assert status == 200 and answer["status"].startswith("ignored")
    status, answer = await post(shop, event(shop, invoice_id, "SubscriberCharged"))
    assert status == 200 and answer["status"].startswith("ignored")
    status, answer = await post(shop, event(shop, "NoSuchInvoice1234"))
    assert status == 200 and answer["status"] == "ignored: unknown invoice"
    assert (await shop.order(order_id)).status == "awaiting_payment"


async def test_replayed_and_redelivered_events_are_deduplicated(shop_without_webhook):
    shop = shop_without_webhook
    order_id, invoice_id = await paid_order(shop)
    first = event(shop, invoice_id)
    assert (await post(shop, first))[1]["status"] == "paid"
    status, answer = await post(shop, first)
    assert status == 200 and answer["status"] == "duplicate"
    redelivery = {**first, "deliveryId": uuid.uuid4().hex, "isRedelivery": True}
    status, answer = await post(shop, redelivery)
    assert status == 200 and answer["status"] == "duplicate"
    api = await (await shop.client.get(f"/api/v1/orders/{order_id}")).json()
    assert api["status"] == "paid" and len(api["devices"]) == 1


async def test_reordered_events_never_move_an_order_back(shop_without_webhook):
    shop = shop_without_webhook
    order_id, invoice_id = await paid_order(shop)
    assert (await post(shop, event(shop, invoice_id, "InvoiceSettled")))[1]["status"] == "paid"
    for late in ("InvoiceProcessing", "InvoiceReceivedPayment", "InvoiceCreated"):
        status, answer = await post(shop, event(shop, invoice_id, late))
        assert status == 200 and answer["status"] == "unchanged: paid"
    assert (await shop.order(order_id)).status == "paid"


async def test_invoicecreated_for_the_invoice_its_order_holds_does_not_ask_btcpay(
    shop_without_webhook,
):
    """Every checkout's InvoiceCreated names the invoice its order has just recorded: it can
    move nothing, so it is answered without a call to BTCPay (it used to re-fetch)."""
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order()
    invoice_id = await shop.invoice_id(order_id)
    await shop.sim.act(invoice_id, "pay")
    await shop.sim.act(invoice_id, "confirm")
    # The next read of the invoice fails: whichever delivery re-fetches meets it.
    invoice_path = f"/api/v1/stores/{shop.sim.store_id}/invoices/{invoice_id}"
    await shop.sim.fail_next(503, method="GET", path=invoice_path)
    created = event(shop, invoice_id, "InvoiceCreated")

    status, answer = await post(shop, created)

    assert status == 200 and answer["status"] == "unchanged: awaiting_payment"
    assert (await post(shop, created))[1]["status"] == "duplicate"  # recorded as processed
    settled = event(shop, invoice_id, "InvoiceSettled")
    assert (await post(shop, settled))[0] == 503  # the fault was still there
    assert (await post(shop, settled))[1]["status"] == "paid"  # BTCPay's retry
    async with shop.client.app[DB]() as session:
        steps = (
            await session.execute(
                select(InvoiceEvent.event_type, InvoiceEvent.order_id)
                .where(InvoiceEvent.invoice_id == invoice_id)
                .order_by(InvoiceEvent.id)
            )
        ).all()
    # Both on the order's timeline, the InvoiceCreated through the order holding the invoice.
    assert [tuple(step) for step in steps] == [
        ("InvoiceCreated", order_id),
        ("InvoiceSettled", order_id),
    ]


async def test_the_body_is_not_trusted_only_the_refetched_invoice(shop_without_webhook):
    """A correctly signed "InvoiceSettled" for an unpaid invoice settles nothing."""
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order()
    invoice_id = await shop.invoice_id(order_id)
    status, answer = await post(
        shop, event(shop, invoice_id, "InvoiceSettled", metadata={"orderId": order_id})
    )
    assert status == 200 and answer["status"] == "unchanged: awaiting_payment"
    assert (await shop.order(order_id)).status == "awaiting_payment"


async def test_an_invoice_with_a_tampered_amount_never_pays_the_order(shop):
    """Someone creates (and pays) a cheaper invoice naming our order: it is not applied."""
    await shop.add_stock("EPD-1", 1)
    await shop.sim.fail_next(503)  # our own invoice request fails: the order waits for one
    order_id = await shop.place_order()
    assert (await shop.order(order_id)).status == "awaiting_invoice"
    status, cheap = await shop.sim.call(
        "POST",
        f"/api/v1/stores/{shop.sim.store_id}/invoices",
        {"amount": "0.01", "currency": "EUR", "metadata": {"orderId": order_id}},
    )
    assert status == 200
    await shop.sim.act(cheap["id"], "pay")
    await shop.sim.act(cheap["id"], "confirm")
    delivery = await shop.wait_delivery("InvoiceSettled")
    assert delivery["httpCode"] == 200
    order = await shop.order(order_id)
    assert order.status == "awaiting_invoice" and order.invoice_id is None


async def test_btcpay_down_while_refetching_asks_for_a_retry(shop):
    """503 while BTCPay cannot be asked; BTCPay's retry (compressed here) then succeeds."""
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order()
    invoice_id = await shop.invoice_id(order_id)
    await shop.sim.act(invoice_id, "pay")
    await shop.wait_status(order_id, "confirming")
    await shop.sim.fail_next(503, count=1)
    await shop.sim.act(invoice_id, "confirm")
    await shop.wait_status(order_id, "paid")
    # The delivery answered 503 was retried on (compressed) schedule and then accepted.
    for _ in range(500):
        deliveries = await shop.sim.deliveries(shop.webhook["id"])
        if all(d["status"] == "HttpSuccess" for d in deliveries):
            break
        await asyncio.sleep(0.01)
    assert {d["status"] for d in deliveries} == {"HttpSuccess"}


async def test_every_request_gets_one_receipt_with_its_answer(shop_without_webhook):
    """The delivery acted on writes its receipt with its own rows; the others through the
    log's wrapper: either way one receipt a request, never none or two."""
    shop = shop_without_webhook
    _order_id, invoice_id = await paid_order(shop)
    first = event(shop, invoice_id)
    assert (await post(shop, first))[1]["status"] == "paid"
    assert (await post(shop, first))[1]["status"] == "duplicate"
    assert (await post(shop, event(shop, "no-such-invoice")))[0] == 200
    async with shop.app[DB]() as session:
        receipts = list(await session.scalars(select(WebhookReceipt).order_by(WebhookReceipt.id)))
        processed = list(await session.scalars(select(ProcessedDelivery)))
    assert [(r.delivery_id, r.outcome, r.http_status, r.verified) for r in receipts] == [
        (first["deliveryId"], "paid", 200, True),
        (first["deliveryId"], "duplicate", 200, True),
        (receipts[2].delivery_id, "ignored: unknown invoice", 200, True),
    ]
    assert receipts[0].invoice_id == invoice_id and receipts[0].event_type == "InvoiceSettled"
    assert [p.delivery_id for p in processed if p.invoice_id == invoice_id] == [first["deliveryId"]]


async def test_one_delivery_sent_to_two_replicas_at_once_acts_once(
    shop_without_webhook, aiohttp_client
):
    """The delivery's own row decides: one copy pays the order (one unit, one receipt mail,
    one timeline row), every other copy answers "duplicate" and changes nothing."""
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 2)
    order_id = await shop.place_order(email="twice@example.com")
    await shop.pay(order_id, "pay", "confirm")
    invoice_id = await shop.invoice_id(order_id)
    replica = await aiohttp_client(create_app(shop.settings))
    payload = event(shop, invoice_id)
    answers = await asyncio.gather(
        post(shop, payload), post(replace(shop, client=replica), payload), post(shop, payload)
    )
    assert sorted(answer["status"] for _status, answer in answers) == [
        "duplicate",
        "duplicate",
        "paid",
    ]
    assert (await shop.order(order_id)).status == "paid"
    async with shop.app[DB]() as session:
        owned = await session.scalar(select(func.count()).select_from(Ownership))
        timeline = list(await session.scalars(select(InvoiceEvent)))
        processed = list(await session.scalars(select(ProcessedDelivery)))
        receipts = list(await session.scalars(select(WebhookReceipt)))
    assert owned == 1
    assert [(row.delivery_id, row.outcome) for row in timeline] == [(payload["deliveryId"], "paid")]
    assert [row.delivery_id for row in processed] == [payload["deliveryId"]]
    assert sorted(row.outcome for row in receipts) == ["duplicate", "duplicate", "paid"]
    await shop.smtp.wait_for("twice@example.com")
    await asyncio.sleep(0.3)  # let any second mail surface
    subjects = [m["Subject"] for m in shop.smtp.messages_to("twice@example.com")]
    assert subjects.count("Receipt for your Ethos order") == 1
