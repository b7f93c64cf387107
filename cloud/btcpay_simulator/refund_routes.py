"""The simulator's refund side over HTTP: Greenfield's invoice refund, pull payments and
payouts, and the pull payment's claim page (its `viewLink`) with test buttons that approve
and pay a payout, as a merchant would in BTCPay's payouts screen.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from html import escape

from aiohttp import web

from cloud.btcpay_simulator.app import (
    _base_url,
    _invoice,
    _json,
    _read_object,
    _store,
    _validation,
    publish,
)
from cloud.btcpay_simulator.pages import _page
from cloud.btcpay_simulator.pull_payments import (
    PayoutState,
    RefundRefused,
    SimPayout,
    SimPullPayment,
    SimPullPayments,
    format_amount,
)

_LOGGER = logging.getLogger(__name__)

PULL_PAYMENTS: web.AppKey[SimPullPayments] = web.AppKey("sim_pull_payments", SimPullPayments)
PAYOUT_ACTIONS = {"approve": "Approve payout", "pay": "Mark paid (send the bitcoin)"}


def _not_found(code: str, message: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(
        text=json.dumps({"code": code, "message": message}), content_type="application/json"
    )


def _pull_payment(request: web.Request) -> SimPullPayment:
    found = request.app[PULL_PAYMENTS].pull_payments.get(request.match_info["pullPaymentId"])
    if found is None:
        raise _not_found("pullpayment-not-found", "Pull payment not found")
    return found


def _payout(request: web.Request) -> SimPayout:
    found = request.app[PULL_PAYMENTS].payouts.get(request.match_info["payoutId"])
    pull_payment_id = request.match_info.get("pullPaymentId")
    if found is None or (pull_payment_id and found.pull_payment_id != pull_payment_id):
        raise _not_found("payout-not-found", "Payout not found")
    return found


def _refused(err: RefundRefused, status: int = 422) -> web.Response:
    return (
        _validation([(err.path, err.message)])
        if status == 422
        else _json([{"path": err.path, "message": err.message}], status)
    )


async def refund_invoice(request: web.Request) -> web.Response:
    invoice = _invoice(request)
    body = await _read_object(request)
    if isinstance(body, web.Response):
        return body
    try:
        pull_payment = request.app[PULL_PAYMENTS].refund(invoice, body)
    except RefundRefused as err:
        return _refused(err, 400)  # Greenfield answers refund problems with 400
    _LOGGER.info("invoice %s refunded: pull payment %s", invoice.id, pull_payment.id)
    return _json(pull_payment.to_json(_base_url(request)))


async def list_pull_payments(request: web.Request) -> web.Response:
    _store(request)
    return _json(
        [
            pp.to_json(_base_url(request))
            for pp in request.app[PULL_PAYMENTS].pull_payments.values()
            if request.query.get("includeArchived") == "true" or not pp.archived
        ]
    )


async def get_pull_payment(request: web.Request) -> web.Response:
    return _json(_pull_payment(request).to_json(_base_url(request)))


async def list_payouts(request: web.Request) -> web.Response:
    pull_payment = _pull_payment(request)
    cancelled = request.query.get("includeCancelled") == "true"
    return _json(
        [
            p.to_json()
            for p in request.app[PULL_PAYMENTS].payouts_of(pull_payment)
            if cancelled or p.state != PayoutState.CANCELLED
        ]
    )


async def create_payout(request: web.Request) -> web.Response:
    pull_payment = _pull_payment(request)
    body = await _read_object(request)
    if isinstance(body, web.Response):
        return body
    try:
        payout, events = request.app[PULL_PAYMENTS].claim(
            pull_payment, str(body.get("destination") or ""), body.get("amount")
        )
    except RefundRefused as err:
        return _refused(err)
    publish(request.app, events)
    return _json(payout.to_json())


async def get_payout(request: web.Request) -> web.Response:
    return _json(_payout(request).to_json())


async def list_store_payouts(request: web.Request) -> web.Response:
    _store(request)
    return _json([p.to_json() for p in request.app[PULL_PAYMENTS].payouts.values()])


async def approve_payout(request: web.Request) -> web.Response:
    payout = _payout(request)
    body = await _read_object(request)
    if isinstance(body, web.Response):
        return body
    try:
        events = request.app[PULL_PAYMENTS].approve(payout, body.get("revision"))
    except RefundRefused as err:
        return _refused(err)
    publish(request.app, events)
    return _json(payout.to_json())


async def mark_payout_paid(request: web.Request) -> web.Response:
    payout = _payout(request)
    try:
        publish(request.app, request.app[PULL_PAYMENTS].mark(payout, PayoutState.COMPLETED))
    except RefundRefused as err:
        return _refused(err)
    return web.Response(status=200)


async def mark_payout(request: web.Request) -> web.Response:
    payout = _payout(request)
    body = await _read_object(request)
    if isinstance(body, web.Response):
        return body
    proof = body.get("paymentProof")
    try:
        events = request.app[PULL_PAYMENTS].mark(
            payout, str(body.get("state")), proof if isinstance(proof, dict) else None
        )
    except RefundRefused as err:
        return _refused(err)
    publish(request.app, events)
    return web.Response(status=200)


async def cancel_payout(request: web.Request) -> web.Response:
    payout = _payout(request)
    try:
        publish(request.app, request.app[PULL_PAYMENTS].mark(payout, PayoutState.CANCELLED))
    except RefundRefused as err:
        return _refused(err)
    return web.Response(status=200)


# ---- the claim page (the pull payment's viewLink) ----


def claim_page(pulls: SimPullPayments, pull_payment: SimPullPayment, error: str = "") -> str:
    currency = pull_payment.currency
    remaining = pulls.remaining(pull_payment)
    left = f"{format_amount(max(remaining, Decimal(0)), currency)} {escape(currency)}"
    rows = "\n".join(
        f'<tr class="payout"><td>{escape(p.id)}</td><td><code>{escape(p.destination)}</code></td>'
        f"<td>{format_amount(p.original_amount, currency)} {escape(currency)}</td>"
        f'<td class="payout-state">{escape(p.state)}</td><td>'
        + "".join(
            f'<form method="post" action="/payouts/{escape(p.id)}/test/{action}">'
            f'<button type="submit">{escape(label)}</button></form>'
            for action, label in PAYOUT_ACTIONS.items()
            if (action == "approve" and p.state == PayoutState.AWAITING_APPROVAL)
            or (action == "pay" and p.state == PayoutState.AWAITING_PAYMENT)
        )
        + "</td></tr>"
        for p in pulls.payouts_of(pull_payment)
    )
    payouts = (
        "<h2>Payouts</h2><table><thead><tr><th>Payout</th><th>Destination</th><th>Amount</th>"
        f"<th>State</th><th>Test buttons (the merchant's side)</th></tr></thead><tbody>\n{rows}"
        "\n</tbody></table>"
        if rows
        else ""
    )
    form = (
        f'<form method="post" action="/pull-payments/{escape(pull_payment.id)}/claim">'
        '<label>Your bitcoin address <input name="destination" required size="50" '
        'autocomplete="off"></label> <button type="submit">Claim</button></form>'
        if remaining > 0 and not pull_payment.archived
        else "<p>Nothing is left to claim.</p>"
    )
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _page(
        pull_payment.name,
        f"""<p><a href="/">BTCPay simulator</a></p>
<h1>{escape(pull_payment.name)}</h1>
<p>{escape(pull_payment.description)}</p>
<p>Amount: <strong class="amount">{format_amount(pull_payment.amount, currency)}
 {escape(currency)}</strong>; left to claim:
 <span class="remaining">{left}</span></p>
{problem}
{form}
{payouts}""",
    )


async def claim_page_view(request: web.Request) -> web.Response:
    pull_payment = _pull_payment(request)
    return web.Response(
        text=claim_page(request.app[PULL_PAYMENTS], pull_payment), content_type="text/html"
    )


async def claim_submit(request: web.Request) -> web.Response:
    pull_payment = _pull_payment(request)
    form = await request.post()
    pulls = request.app[PULL_PAYMENTS]
    try:
        _claimed, events = pulls.claim(pull_payment, str(form.get("destination") or ""))
    except RefundRefused as err:
        return web.Response(
            text=claim_page(pulls, pull_payment, err.message),
            content_type="text/html",
            status=422,
        )
    publish(request.app, events)
    raise web.HTTPSeeOther(f"/pull-payments/{pull_payment.id}")


async def payout_test_action(request: web.Request) -> web.Response:
    """Test buttons: approve a claimed payout, then mark it paid (Accept: JSON answers it)."""
    payout = _payout(request)
    pulls = request.app[PULL_PAYMENTS]
    action = request.match_info["action"]
    try:
        if action == "approve":
            events = pulls.approve(payout)
        elif action == "pay":
            events = pulls.mark(payout, PayoutState.COMPLETED)
        else:
            raise web.HTTPNotFound(
                text=f"Unknown test action; use one of {', '.join(PAYOUT_ACTIONS)}"
            )
    except RefundRefused as err:
        return _refused(err)
    publish(request.app, events)
    if request.headers.get("Accept", "").startswith("application/json"):
        return _json(payout.to_json())
    raise web.HTTPSeeOther(f"/pull-payments/{payout.pull_payment_id}")


def add_routes(app: web.Application, store_id: str, rate: Decimal) -> None:
    app[PULL_PAYMENTS] = SimPullPayments(store_id, rate)
    store = "/api/v1/stores/{storeId}"
    app.router.add_post(f"{store}/invoices/{{invoiceId}}/refund", refund_invoice)
    app.router.add_post("/api/v1/invoices/{invoiceId}/refund", refund_invoice)
    app.router.add_get(f"{store}/pull-payments", list_pull_payments)
    app.router.add_get(f"{store}/payouts", list_store_payouts)
    pull = "/api/v1/pull-payments/{pullPaymentId}"
    app.router.add_get(pull, get_pull_payment)
    app.router.add_get(f"{pull}/payouts", list_payouts)
    app.router.add_post(f"{pull}/payouts", create_payout)
    app.router.add_get(f"{pull}/payouts/{{payoutId}}", get_payout)
    for prefix in ("/api/v1/payouts/{payoutId}", f"{store}/payouts/{{payoutId}}"):
        app.router.add_get(prefix, get_payout)
        app.router.add_post(prefix, approve_payout)
        app.router.add_delete(prefix, cancel_payout)
        app.router.add_post(f"{prefix}/mark-paid", mark_payout_paid)
        app.router.add_post(f"{prefix}/mark", mark_payout)
    app.router.add_get("/pull-payments/{pullPaymentId}", claim_page_view)
    app.router.add_post("/pull-payments/{pullPaymentId}/claim", claim_submit)
    app.router.add_post("/payouts/{payoutId}/test/{action}", payout_test_action)
