"""What the client sends, and what the simulator answers and delivers, validate against
BTCPay's own Greenfield OpenAPI files (../shared/reference/btcpay-greenfield)."""

from __future__ import annotations

import json
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cloud.payments.greenfield import GreenfieldClient
from cloud.payments.signature import signature_matches
from tests.cloud.payments.greenfield_schema import errors, validator, webhook_validator
from tests.support.waiting import wait_until


async def test_client_request_is_a_valid_create_invoice_request():
    captured: dict = {}

    async def create(request: web.Request) -> web.Response:
        captured.update(
            path=request.path, auth=request.headers["Authorization"], body=await request.json()
        )
        return web.json_response({"code": "stop", "message": "captured"}, status=400)

    app = web.Application()
    app.router.add_post("/api/v1/stores/{storeId}/invoices", create)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        client = GreenfieldClient(session, str(server.make_url("")), "k3y", "St0re", 5.0)
        with pytest.raises(Exception, match="captured"):
            await client.create_invoice(
                "ord1", Decimal("49.5"), "EUR", "http://shop/orders/ord1", "MediumSpeed", 15
            )
    await server.close()
    assert captured["path"] == "/api/v1/stores/St0re/invoices"
    assert captured["auth"] == "token k3y"
    body = captured["body"]
    assert errors(validator("CreateInvoiceRequest"), body) == []
    assert body["amount"] == "49.50" and body["currency"] == "EUR"
    assert body["metadata"] == {"orderId": "ord1"}  # no personal data goes to BTCPay
    assert body["checkout"]["speedPolicy"] == "MediumSpeed"
    assert body["checkout"]["expirationMinutes"] == 15
    assert body["checkout"]["redirectURL"] == "http://shop/orders/ord1"


async def test_simulator_answers_validate(sim, greenfield):
    invoice = await greenfield.create_invoice(
        "ord2", Decimal("12.34"), "EUR", "http://shop/orders/ord2", "HighSpeed", 10
    )
    assert invoice.amount == Decimal("12.34") and invoice.status == "New"
    store = f"/api/v1/stores/{sim.store_id}"
    for path, schema in [
        (f"{store}/invoices/{invoice.id}", "InvoiceData"),
        (f"/api/v1/invoices/{invoice.id}", "InvoiceData"),  # the shorter v2.4 form
        (f"{store}/invoices?orderId=ord2", "InvoiceDataList"),
    ]:
        status, data = await sim.call("GET", path)
        assert status == 200 and errors(validator(schema), data) == [], path
    for path in (
        f"{store}/invoices/{invoice.id}/payment-methods",
        f"/api/v1/invoices/{invoice.id}/payment-methods",
    ):
        status, methods = await sim.call("GET", path)
        assert status == 200
        for method in methods:
            assert errors(validator("InvoicePaymentMethodDataModel"), method) == []
    methods = await greenfield.payment_methods(invoice.id)
    assert methods[0]["paymentLink"].startswith("bitcoin:bcrt1q")
    assert Decimal(methods[0]["amount"]) == Decimal("12.34") / Decimal("50000")
    await sim.act(invoice.id, "pay")  # HighSpeed: settles at 0 confirmations
    status, data = await sim.call("GET", f"{store}/invoices/{invoice.id}")
    assert data["status"] == "Settled" and errors(validator("InvoiceData"), data) == []
    status, data = await sim.call("POST", f"{store}/invoices", {"amount": "-1", "currency": "E"})
    assert status == 422 and errors(validator("ValidationProblemDetails"), data) == []
    assert {item["path"] for item in data} == {"amount", "currency"}
    status, data = await sim.call("GET", f"{store}/invoices/NoSuchInvoice")
    assert status == 404 and errors(validator("ProblemDetails"), data) == []
    assert await greenfield.get_invoice("NoSuchInvoice") is None


async def test_webhook_registration_and_deliveries_validate(sim, receiver, greenfield):
    status, hook = await sim.call(
        "POST",
        f"/api/v1/stores/{sim.store_id}/webhooks",
        {"url": receiver.url, "authorizedEvents": {"everything": True}},
    )
    assert status == 200 and errors(validator("WebhookDataCreateResult"), hook) == []
    assert hook["secret"]  # generated: BTCPay returns it only now
    status, hooks = await sim.call("GET", f"/api/v1/stores/{sim.store_id}/webhooks")
    assert errors(validator("WebhookDataList"), hooks) == [] and "secret" not in hooks[0]

    paid = await greenfield.create_invoice(
        "o-paid", Decimal("10"), "EUR", "http://x", "MediumSpeed", 15
    )
    await sim.act(paid.id, "pay-part")
    await sim.act(paid.id, "overpay")
    await sim.act(paid.id, "confirm")
    late = await greenfield.create_invoice(
        "o-late", Decimal("10"), "EUR", "http://x", "LowSpeed", 15
    )
    await sim.act(late.id, "pay-part")
    await sim.act(late.id, "expire")
    await sim.act(late.id, "pay")
    await sim.mark(late.id, "Settled")
    await wait_until(lambda: len(receiver.received) >= 14)
    bodies = receiver.bodies()
    kinds = [(b["invoiceId"], b["type"]) for b in bodies]
    assert [k for i, k in kinds if i == paid.id] == [
        "InvoiceCreated",
        "InvoiceReceivedPayment",
        "InvoiceReceivedPayment",
        "InvoiceProcessing",
        "InvoicePaymentSettled",
        "InvoicePaymentSettled",
        "InvoiceSettled",
    ]
    assert [k for i, k in kinds if i == late.id] == [
        "InvoiceCreated",
        "InvoiceReceivedPayment",
        "InvoiceExpired",
        "InvoiceExpiredPaidPartial",
        "InvoiceReceivedPayment",
        "InvoicePaidAfterExpiration",
        "InvoiceSettled",
    ]
    for _, raw, headers in receiver.received:
        body = json.loads(raw)
        assert errors(webhook_validator(body["type"]), body) == [], body["type"]
        assert signature_matches(hook["secret"], raw, headers["BTCPay-Sig"])
        assert raw.startswith(b"{\n  ")  # indented JSON, as BTCPay sends
    settled = [b for b in bodies if b["type"] == "InvoiceSettled"]
    assert settled[0]["overPaid"] is True and settled[1]["manuallyMarked"] is True
    status, deliveries = await sim.call(
        "GET", f"/api/v1/stores/{sim.store_id}/webhooks/{hook['id']}/deliveries"
    )
    assert errors(validator("WebhookDeliveryList"), deliveries) == []
