"""Refunds against BTCPay's own files: the invoice-refund request the client sends, and what
the simulator answers (pull payments, payouts) and delivers (payout webhooks)."""

from __future__ import annotations

import json
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cloud.payments.greenfield import BtcpayError, GreenfieldClient, refund_request
from cloud.payments.signature import signature_matches
from tests.cloud.payments.greenfield_schema import (
    errors,
    request_validator,
    validator,
    webhook_validator,
)
from tests.support.waiting import wait_until

PULL_FILE = "swagger.template.pull-payments.json"
ADDRESS = "bcrt1qrefundbuyer0000000000000000000000000000"


async def _captured_refund(body: dict) -> dict:
    """What the client sends for `body`, as seen by a server that answers a pull payment."""
    captured: dict = {}

    async def refund(request: web.Request) -> web.Response:
        captured.update(path=request.raw_path, body=await request.json())
        return web.json_response(
            {
                "id": "PP1",
                "name": "Refund",
                "currency": "EUR",
                "amount": "3.00",
                "archived": False,
                "viewLink": "http://btcpay/pull-payments/PP1",
            }
        )

    app = web.Application()
    app.router.add_post("/api/v1/stores/{storeId}/invoices/{invoiceId}/refund", refund)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        client = GreenfieldClient(session, str(server.make_url("")), "k3y", "St0re", 5.0)
        pull_payment = await client.refund_invoice("Inv/1", body)
    await server.close()
    assert pull_payment.id == "PP1" and pull_payment.amount == Decimal("3.00")
    assert pull_payment.view_link == "http://btcpay/pull-payments/PP1"
    return captured


async def test_client_refund_requests_are_valid_refund_invoice_requests():
    custom = await _captured_refund(
        refund_request("Custom", "Refund of order o1", "Overpayment", Decimal("3"), "eur")
    )
    assert custom["path"] == "/api/v1/stores/St0re/invoices/Inv%2F1/refund"
    assert errors(validator("RefundInvoiceRequest"), custom["body"]) == []
    assert custom["body"]["customAmount"] == "3.00" and custom["body"]["customCurrency"] == "EUR"
    for variant in ("OverpaidAmount", "Fiat", "CurrentRate", "RateThen"):
        sent = await _captured_refund(refund_request(variant, "Refund", "why"))
        assert errors(validator("RefundInvoiceRequest"), sent["body"]) == [], variant
        assert sent["body"]["refundVariant"] == variant and "customAmount" not in sent["body"]
    with pytest.raises(ValueError, match="amount and a currency"):
        refund_request("Custom", "Refund", "why")
    with pytest.raises(ValueError, match="unknown refund variant"):
        refund_request("Everything", "Refund", "why")


async def _paid_invoice(sim, greenfield, action: str = "overpay"):
    invoice = await greenfield.create_invoice(
        "o-refund", Decimal("100"), "EUR", "http://x", "MediumSpeed", 15
    )
    await sim.act(invoice.id, action)
    await sim.act(invoice.id, "confirm")
    return invoice


async def test_refund_pull_payment_and_payouts_validate_and_deliver_payout_webhooks(
    sim, receiver, greenfield
):
    hook = await sim.create_webhook(receiver.url)
    invoice = await _paid_invoice(sim, greenfield)  # 120 % paid: 20 EUR over
    assert (await greenfield.get_invoice(invoice.id)).paid_amount == Decimal("120.00")

    pull_payment = await greenfield.refund_invoice(
        invoice.id, refund_request("OverpaidAmount", "Refund", "Overpayment")
    )
    assert pull_payment.currency == "BTC"
    assert pull_payment.amount == Decimal("20") / Decimal("50000")  # the overpaid bitcoin
    assert pull_payment.view_link == f"{sim.url}/pull-payments/{pull_payment.id}"
    status, data = await sim.call("GET", f"/api/v1/pull-payments/{pull_payment.id}")
    assert status == 200 and errors(validator("PullPaymentData"), data) == []
    status, data = await sim.call("GET", f"/api/v1/stores/{sim.store_id}/pull-payments")
    assert status == 200 and errors(validator("PullPaymentDataList"), data) == []
    assert await greenfield.get_pull_payment(pull_payment.id) == pull_payment
    assert pull_payment in await greenfield.list_pull_payments()

    # The buyer claims (what the claim page does), the merchant approves, then pays.
    claim = {"destination": ADDRESS, "payoutMethodId": "BTC-CHAIN"}
    claim_path = f"/api/v1/pull-payments/{pull_payment.id}/payouts"
    assert (
        errors(
            request_validator(PULL_FILE, claim_path.replace(pull_payment.id, "{pullPaymentId}")),
            claim,
        )
        == []
    )
    status, payout = await sim.call("POST", claim_path, claim)
    assert status == 200 and errors(validator("PayoutData"), payout) == []
    assert payout["state"] == "AwaitingApproval" and payout["payoutAmount"] is None
    approve = {"revision": payout["revision"]}
    assert errors(request_validator(PULL_FILE, "/api/v1/payouts/{payoutId}"), approve) == []
    status, approved = await sim.call("POST", f"/api/v1/payouts/{payout['id']}", approve)
    assert status == 200 and errors(validator("PayoutData"), approved) == []
    assert approved["state"] == "AwaitingPayment"
    assert Decimal(approved["payoutAmount"]) == pull_payment.amount
    status, _ = await sim.call("POST", f"/api/v1/payouts/{payout['id']}/mark-paid")
    assert status == 200
    paid = await greenfield.get_payout(pull_payment.id, payout["id"])
    assert paid is not None and paid.state == "Completed" and paid.destination == ADDRESS
    for path in (claim_path, f"/api/v1/stores/{sim.store_id}/payouts"):
        status, data = await sim.call("GET", path)
        assert status == 200 and errors(validator("PayoutDataList"), data) == [], path
    status, data = await sim.call("GET", f"{claim_path}/{payout['id']}")
    assert status == 200 and errors(validator("PayoutData"), data) == []
    assert [p.state for p in await greenfield.list_payouts(pull_payment.id)] == ["Completed"]

    def payout_deliveries() -> list[tuple[dict, bytes, dict]]:
        return [
            (json.loads(raw), raw, headers)
            for _, raw, headers in receiver.received
            if json.loads(raw)["type"].startswith("Payout")
        ]

    await wait_until(lambda: len(payout_deliveries()) >= 3)
    deliveries = payout_deliveries()
    assert [(b["type"], b["payoutState"]) for b, _, _ in deliveries] == [
        ("PayoutCreated", "AwaitingApproval"),
        ("PayoutApproved", "AwaitingPayment"),
        ("PayoutUpdated", "Completed"),
    ]
    for body, raw, headers in deliveries:
        assert errors(webhook_validator(body["type"]), body) == [], body["type"]
        assert body["payoutId"] == payout["id"] and body["pullPaymentId"] == pull_payment.id
        assert body["storeId"] == sim.store_id and body["webhookId"] == hook["id"]
        assert signature_matches(hook["secret"], raw, headers["BTCPay-Sig"])


async def test_refunds_the_simulator_refuses(sim, greenfield):
    unpaid = await greenfield.create_invoice(
        "o-unpaid", Decimal("10"), "EUR", "http://x", "MediumSpeed", 15
    )
    store = f"/api/v1/stores/{sim.store_id}"
    status, data = await sim.call(
        "POST", f"{store}/invoices/{unpaid.id}/refund", {"refundVariant": "Fiat"}
    )
    assert status == 400 and errors(validator("ValidationProblemDetails"), data) == []
    with pytest.raises(BtcpayError, match="no payment to refund"):
        await greenfield.refund_invoice(unpaid.id, refund_request("Fiat", "Refund", "why"))

    exact = await _paid_invoice(sim, greenfield, "pay")
    with pytest.raises(BtcpayError, match="not overpaid"):
        await greenfield.refund_invoice(exact.id, refund_request("OverpaidAmount", "R", "why"))
    status, data = await sim.call(
        "POST", f"/api/v1/invoices/{exact.id}/refund", {"refundVariant": "Custom"}
    )
    assert status == 400 and [item["path"] for item in data] == ["customAmount"]

    pull_payment = await greenfield.refund_invoice(
        exact.id, refund_request("Custom", "Refund", "why", Decimal("30"), "EUR")
    )
    claim_path = f"/api/v1/pull-payments/{pull_payment.id}/payouts"
    for body, path in [
        ({"destination": "not an address"}, "destination"),
        ({"destination": ADDRESS, "amount": "30.01"}, "amount"),
    ]:
        status, data = await sim.call("POST", claim_path, body)
        assert status == 422 and errors(validator("ValidationProblemDetails"), data) == []
        assert [item["path"] for item in data] == [path]
    status, payout = await sim.call("POST", claim_path, {"destination": ADDRESS})
    assert status == 200 and payout["originalAmount"] == "30.00"
    status, data = await sim.call("POST", f"/api/v1/payouts/{payout['id']}/mark-paid")
    assert status == 422  # not approved yet
    status, data = await sim.call("POST", claim_path, {"destination": ADDRESS})
    assert status == 422  # nothing left to claim
    status, data = await sim.call("GET", "/api/v1/pull-payments/NoSuchPullPayment")
    assert status == 404 and errors(validator("ProblemDetails"), data) == []
    assert await greenfield.get_pull_payment("NoSuchPullPayment") is None


async def test_claim_page_claims_then_its_test_buttons_approve_and_pay(sim, greenfield):
    invoice = await _paid_invoice(sim, greenfield)
    pull_payment = await greenfield.refund_invoice(
        invoice.id, refund_request("OverpaidAmount", "Refund of order o-refund", "Overpayment")
    )
    page = f"/pull-payments/{pull_payment.id}"
    async with sim.session.get(sim.url + page) as response:
        assert response.status == 200 and "Refund of order o-refund" in await response.text()
    async with sim.session.post(
        f"{sim.url}{page}/claim", data={"destination": "nope"}, allow_redirects=False
    ) as response:
        assert response.status == 422
        assert "Destination should be a bitcoin address" in await response.text()
    assert await greenfield.list_payouts(pull_payment.id) == []
    async with sim.session.post(
        f"{sim.url}{page}/claim", data={"destination": ADDRESS}, allow_redirects=True
    ) as response:
        html = await response.text()
    assert "AwaitingApproval" in html and "Approve payout" in html
    (payout,) = await greenfield.list_payouts(pull_payment.id)
    for action, state in (("approve", "AwaitingPayment"), ("pay", "Completed")):
        async with sim.session.post(f"{sim.url}/payouts/{payout.id}/test/{action}") as response:
            assert response.status == 200  # the redirect back to the claim page
            assert state in await response.text()
    assert (await greenfield.get_payout(pull_payment.id, payout.id)).state == "Completed"
    assert "Nothing is left to claim" in html  # the claim took all of it
