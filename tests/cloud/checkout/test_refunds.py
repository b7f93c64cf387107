"""Refunds through BTCPay: what may be refunded, the buyer's claim mail, the payout followed
to paid, units back in stock, and the refusals (more than paid, unpaid, concurrent)."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlmodel import col

from cloud.accounts.keys import PERSONAL_DATA
from cloud.accounts.personal_data import DataSubject
from cloud.admin.locking import ORDER_CHANGED
from cloud.admin.models import AuditEntry
from cloud.checkout import refunds
from cloud.checkout.keys import CHECKOUT
from cloud.checkout.models import Refund, RefundStatus
from cloud.checkout.refunds import RefundRequest
from cloud.domain import InputErrors, RefusedError
from cloud.inventory.models import Ownership
from cloud.inventory.service import available_count
from cloud.web.keys import DB
from tests.cloud.checkout.test_reconciler import make_due

ADDRESS = "bcrt1qbuyerrefund000000000000000000000000000"
CENT = Decimal("0.01")
OPERATOR = "operator@example.org"
CLAIM_LINK = re.compile(r"http://\S+/pull-payments/(\S+)")


def _email() -> str:
    return f"buyer-{secrets.token_hex(4)}@example.com"


async def _paid_order(shop, *actions: str, email: str | None = None) -> str:
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", 1, email=email or _email())
    await shop.pay(order_id, *actions)
    return order_id


async def _refunds(shop, order_id: str) -> list[Refund]:
    async with shop.app[DB]() as session:
        return await refunds.refunds_of(session, order_id)


async def _has_requesting(shop, order_id: str) -> bool:
    async with shop.app[DB]() as session:
        rows = await refunds.refunds_of(session, order_id)
    return any(r.status == RefundStatus.REQUESTING for r in rows)


async def _wait_for(check, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def _audit(shop, order_id: str) -> list[AuditEntry]:
    async with shop.app[DB]() as session:
        query = select(AuditEntry).where(col(AuditEntry.target) == f"order:{order_id}")
        return list(await session.scalars(query))


async def _pull_payments(shop) -> list[dict]:
    _status, data = await shop.sim.call("GET", f"/api/v1/stores/{shop.sim.store_id}/pull-payments")
    return data


async def _wait_refund(shop, order_id: str, status: str, timeout: float = 10) -> Refund:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        (refund,) = await _refunds(shop, order_id)
        if refund.status == status:
            return refund
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"refund is {refund.status}, not {status}")
        await asyncio.sleep(0.02)


async def _wait_mail(shop, address: str, subject: str, timeout: float = 10):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for message in shop.smtp.messages_to(address):
            if message["Subject"] == subject:
                return message
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no mail {subject!r} to {address}")
        await asyncio.sleep(0.05)


async def test_an_overpayment_is_refunded_claimed_by_mail_link_and_followed_to_paid(shop):
    email = _email()
    order_id = await _paid_order(shop, "overpay", "confirm", email=email)
    order = await shop.wait_status(order_id, "paid")

    refund = await refunds.refund_order(
        shop.app[CHECKOUT], order_id, RefundRequest("OverpaidAmount"), OPERATOR
    )

    assert refund.status == RefundStatus.AWAITING_CLAIM
    assert refund.amount == order.total * Decimal("0.2")  # the simulator's overpay is 120 %
    assert refund.pull_payment_currency == "BTC" and not refund.cancels_order
    assert (await shop.order(order_id)).status == "paid"  # the order still ships
    mail = await _wait_mail(shop, email, "Your Ethos refund is ready to claim")
    link = CLAIM_LINK.search(mail.get_content())
    assert link and link.group(1) == refund.pull_payment_id
    assert f"{refund.amount} {order.currency}" in mail.get_content()

    claim_path = f"/api/v1/pull-payments/{refund.pull_payment_id}/payouts"
    status, payout = await shop.sim.call("POST", claim_path, {"destination": ADDRESS})
    assert status == 200
    await _wait_refund(shop, order_id, RefundStatus.CLAIMED)
    await shop.sim.call("POST", f"/api/v1/payouts/{payout['id']}", {})
    await _wait_refund(shop, order_id, RefundStatus.APPROVED)
    page = await (await shop.client.get(f"/orders/{order_id}")).text()
    assert "Approved; the bitcoin is being sent" in page
    await shop.sim.call("POST", f"/api/v1/payouts/{payout['id']}/mark-paid")
    paid = await _wait_refund(shop, order_id, RefundStatus.PAID)
    page = await (await shop.client.get(f"/orders/{order_id}")).text()
    assert f"{refund.amount} {order.currency}" in page and "Refunded: the payout is paid" in page
    assert paid.payout_id == payout["id"] and paid.paid_at is not None
    with pytest.raises(RefusedError) as refused:  # the overpayment is not refunded twice
        await refunds.refund_order(
            shop.app[CHECKOUT], order_id, RefundRequest("OverpaidAmount"), OPERATOR
        )
    assert refused.value.refusal.code == "overpayment_refunded"
    assert len(await _refunds(shop, order_id)) == 1
    (entry,) = await _audit(shop, order_id)
    assert (entry.actor_email, entry.action) == (OPERATOR, "order.refund")
    assert f"{refund.amount} {order.currency}" in entry.details
    delivery = await shop.wait_delivery("PayoutUpdated")
    assert delivery["status"] == "HttpSuccess"


async def test_refunding_more_than_was_paid_is_refused_and_nothing_is_written(shop):
    order_id = await _paid_order(shop, "pay", "confirm")
    order = await shop.wait_status(order_id, "paid")
    before = await _pull_payments(shop)

    with pytest.raises(RefusedError) as refused:
        await refunds.refund_order(
            shop.app[CHECKOUT],
            order_id,
            RefundRequest("Custom", order.total + Decimal("0.01")),
            None,
        )

    assert refused.value.refusal.code == "more_than_paid"
    assert refused.value.refusal.status == 422
    assert f"At most {order.total} {order.currency}" in refused.value.refusal.message
    assert await _refunds(shop, order_id) == []
    assert await _audit(shop, order_id) == []
    assert await _pull_payments(shop) == before  # BTCPay was not asked
    with pytest.raises(RefusedError) as refused:
        await refunds.refund_order(
            shop.app[CHECKOUT], order_id, RefundRequest("OverpaidAmount"), OPERATOR
        )
    assert refused.value.refusal.code == "not_overpaid"
    assert (await shop.order(order_id)).status == "paid"


async def test_refunding_an_unpaid_order_is_refused(shop):
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", 1, email=_email())
    for request in (RefundRequest("Fiat"), RefundRequest("Custom", Decimal("1.00"))):
        with pytest.raises(RefusedError) as refused:
            await refunds.refund_order(shop.app[CHECKOUT], order_id, request, OPERATOR)
        assert refused.value.refusal.code == "order_unpaid"
    assert await _refunds(shop, order_id) == []
    with pytest.raises(RefusedError) as refused:
        await refunds.refund_order(
            shop.app[CHECKOUT], "NoSuchOrder", RefundRequest("Fiat"), OPERATOR
        )
    assert refused.value.refusal.status == 404


async def test_a_full_refund_before_shipping_cancels_the_order_and_returns_its_units(shop):
    order_id = await _paid_order(shop, "pay", "confirm")
    order = await shop.wait_status(order_id, "paid")
    async with shop.app[DB]() as session:
        free_before = await available_count(session, "EPD-1")

    refund = await refunds.refund_order(
        shop.app[CHECKOUT], order_id, RefundRequest("Fiat"), OPERATOR
    )

    assert refund.amount == order.total and refund.cancels_order
    assert (await shop.order(order_id)).status == "refunded"
    async with shop.app[DB]() as session:
        assert await available_count(session, "EPD-1") == free_before + 1
        owned = await session.scalars(select(Ownership).where(col(Ownership.order_id) == order_id))
        assert list(owned) == []
    async with shop.app[DB]() as session:
        exported = await shop.app[PERSONAL_DATA].export(session, DataSubject(0, order.email))
    assert exported["refunds"]["refunds_to_you"] == [
        {
            "order_id": order_id,
            "amount": str(order.total),
            "currency": order.currency,
            "status": "awaiting_claim",
            "created_at": refund.created_at.isoformat(),
            "paid_at": None,
        }
    ]
    with pytest.raises(RefusedError) as refused:  # nothing is left to refund
        await refunds.refund_order(shop.app[CHECKOUT], order_id, RefundRequest("Fiat"), OPERATOR)
    assert refused.value.refusal.code == "not_refundable"


async def test_a_part_paid_expired_order_is_refunded_in_parts_up_to_what_was_paid(shop):
    order_id = await _paid_order(shop, "pay-part", "expire")
    order = await shop.wait_status(order_id, "expired_part_paid")
    ctx = shop.app[CHECKOUT]
    paid = (await shop.sim.invoice(order.invoice_id))["paidAmount"]
    first = Decimal("5.00")

    await refunds.refund_order(ctx, order_id, RefundRequest("Custom", first), OPERATOR)

    assert (await shop.order(order_id)).status == "partly_refunded"
    rest = Decimal(paid) - first
    with pytest.raises(RefusedError) as refused:
        await refunds.refund_order(ctx, order_id, RefundRequest("Custom", rest + CENT), OPERATOR)
    assert refused.value.refusal.code == "more_than_paid"
    assert f"{first} {order.currency} was refunded already" in refused.value.refusal.message
    last = await refunds.refund_order(ctx, order_id, RefundRequest("Custom", rest), OPERATOR)
    assert last.cancels_order
    assert (await shop.order(order_id)).status == "refunded"
    assert sum(r.amount for r in await _refunds(shop, order_id)) == Decimal(paid)


async def test_a_second_operator_refunding_the_same_order_at_the_same_time_is_refused(shop):
    order_id = await _paid_order(shop, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    ctx = shop.app[CHECKOUT]
    await shop.wait_delivery("InvoiceSettled")  # the store reads no more invoices for now
    await shop.sim.fail_next("pass")  # the first operator reads the invoice…
    await shop.sim.fail_next("slow", delay=0.8)  # …and waits for its pull payment
    first = asyncio.create_task(
        refunds.refund_order(ctx, order_id, RefundRequest("Fiat"), OPERATOR)
    )
    await _wait_for(lambda: _has_requesting(shop, order_id))

    with pytest.raises(RefusedError) as refused:
        await refunds.refund_order(ctx, order_id, RefundRequest("Fiat"), OPERATOR)

    assert refused.value.refusal.code == "refund_in_progress"
    done = await first
    assert [r.id for r in await _refunds(shop, order_id)] == [done.id]
    assert len([p for p in await _pull_payments(shop) if order_id in p["name"]]) == 1


async def test_a_second_operator_acting_on_the_same_page_is_refused(shop):
    order_id = await _paid_order(shop, "overpay", "confirm")
    shown = await shop.wait_status(order_id, "paid")
    ctx = shop.app[CHECKOUT]
    await refunds.refund_order(
        ctx, order_id, RefundRequest("OverpaidAmount"), "first@example.org", shown.version
    )

    with pytest.raises(RefusedError) as refused:
        await refunds.refund_order(
            ctx, order_id, RefundRequest("Custom", Decimal("1.00")), OPERATOR, shown.version
        )

    assert refused.value.refusal == ORDER_CHANGED
    assert len(await _refunds(shop, order_id)) == 1
    assert [e.actor_email for e in await _audit(shop, order_id)] == ["first@example.org"]


async def test_btcpay_refusing_the_refund_leaves_nothing_behind(shop):
    order_id = await _paid_order(shop, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    ctx = shop.app[CHECKOUT]
    balance = await refunds.refund_balance(ctx, await shop.order(order_id))
    await shop.wait_delivery("InvoiceSettled")  # the store reads no more invoices for now
    await shop.sim.fail_next("pass")  # reading the invoice works…
    await shop.sim.fail_next(400)  # …and the refund call itself is refused
    with pytest.raises(RefusedError) as refused:
        await refunds.refund_order(ctx, order_id, RefundRequest("Custom", balance.paid), OPERATOR)
    assert refused.value.refusal.code == "btcpay_refused"
    assert "BTCPay Server refused" in refused.value.refusal.message
    assert [p for p in await _pull_payments(shop) if order_id in p["name"]] == []
    assert await _audit(shop, order_id) == []
    assert await _refunds(shop, order_id) == []
    assert (await shop.order(order_id)).status == "paid"


def test_the_refund_form_is_checked():
    assert refunds.parse_refund_form({"variant": "Custom", "amount": "12,50"}) == RefundRequest(
        "Custom", Decimal("12.50")
    )
    assert refunds.parse_refund_form({"variant": "OverpaidAmount", "amount": "x"}).amount is None
    for form, field in [
        ({"variant": "Everything"}, "variant"),
        ({"variant": "Custom", "amount": "ten"}, "amount"),
        ({"variant": "Custom", "amount": "-1"}, "amount"),
        ({"variant": "Custom", "amount": "1.001"}, "amount"),
        ({"variant": "Custom", "amount": "NaN"}, "amount"),
    ]:
        with pytest.raises(InputErrors) as errors:
            refunds.parse_refund_form(form)
        assert list(errors.value.fields) == [field], form


async def test_the_reconciler_follows_a_payout_whose_webhooks_never_came(shop_without_webhook):
    shop = shop_without_webhook
    ctx = shop.app[CHECKOUT]
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", 1, email=_email())
    await shop.pay(order_id, "overpay", "confirm")
    await make_due(shop)
    assert await shop.reconcile() == 1
    await shop.wait_status(order_id, "paid")
    refund = await refunds.refund_order(ctx, order_id, RefundRequest("OverpaidAmount"), OPERATOR)
    claim_path = f"/api/v1/pull-payments/{refund.pull_payment_id}/payouts"
    _status, payout = await shop.sim.call("POST", claim_path, {"destination": ADDRESS})
    await shop.sim.call("POST", f"/api/v1/payouts/{payout['id']}", {})

    assert await refunds.follow_open_refunds(ctx) == 0  # not quiet for an interval yet
    assert await refunds.follow_open_refunds(ctx, timedelta(0)) == 1
    assert (await _refunds(shop, order_id))[0].status == RefundStatus.APPROVED
    assert await refunds.follow_open_refunds(ctx, timedelta(0)) == 0  # nothing new
    await shop.sim.call("POST", f"/api/v1/payouts/{payout['id']}/mark-paid")
    assert await refunds.follow_open_refunds(ctx, timedelta(0)) == 1
    (paid,) = await _refunds(shop, order_id)
    assert paid.status == RefundStatus.PAID and paid.payout_id == payout["id"]
    assert await refunds.follow_open_refunds(ctx, timedelta(0)) == 0  # paid: no longer read


async def test_late_paid_and_backordered_orders_are_refunded_in_full(shop, aiohttp_client):
    ctx = shop.app[CHECKOUT]
    await shop.add_stock("EPD-1", 1)
    late = await shop.place_order("EPD-1", 1, email=_email())
    await shop.pay(late, "expire", "pay")
    late_order = await shop.wait_status(late, "paid_late")
    backordered = await shop.place_order("EPD-1", 1, email=_email())
    await shop.pay(backordered, "expire", "pay")
    await shop.wait_status(backordered, "paid_late")
    other = await aiohttp_client(shop.client.server)
    await shop.place_order("EPD-1", 1, email=_email(), client=other)  # holds the last unit
    await shop.sim.mark(await shop.invoice_id(backordered), "Settled")
    await shop.wait_status(backordered, "backorder")

    refund = await refunds.refund_order(ctx, late, RefundRequest("Fiat"), OPERATOR)
    assert refund.amount == late_order.total and refund.cancels_order
    assert (await shop.order(late)).status == "refunded"
    part = await refunds.refund_order(
        ctx, backordered, RefundRequest("Custom", Decimal("10.00")), OPERATOR
    )
    assert not part.cancels_order
    assert (await shop.order(backordered)).status == "partly_refunded"
    with pytest.raises(RefusedError) as refused:  # the whole price is more than is left
        await refunds.refund_order(ctx, backordered, RefundRequest("Fiat"), OPERATOR)
    assert refused.value.refusal.code == "more_than_paid"
    left = late_order.total - Decimal("10.00")
    rest = await refunds.refund_order(ctx, backordered, RefundRequest("Custom", left), OPERATOR)
    assert rest.cancels_order
    assert (await shop.order(backordered)).status == "refunded"


async def test_a_refund_whose_answer_was_lost_is_found_and_not_made_twice(shop):
    order_id = await _paid_order(shop, "overpay", "confirm")
    await shop.wait_status(order_id, "paid")
    await shop.wait_delivery("InvoiceSettled")  # the store reads no more invoices for now
    await shop.sim.fail_next("pass")  # the invoice is read…
    await shop.sim.fail_next("slow", delay=1.5)  # …BTCPay refunds, but answers too late

    refund = await refunds.refund_order(
        shop.app[CHECKOUT], order_id, RefundRequest("OverpaidAmount"), OPERATOR
    )

    ours = [p for p in await _pull_payments(shop) if order_id in p["name"]]
    assert [p["id"] for p in ours] == [refund.pull_payment_id]
    assert refund.status == RefundStatus.AWAITING_CLAIM and refund.claim_link
