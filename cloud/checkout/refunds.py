"""Refunds: an operator returns what a buyer paid through BTCPay's invoice refund.

BTCPay answers a refund with a pull payment whose link the buyer opens to claim the money
(naming a bitcoin address); the store mails that link, then follows the payout's webhooks
until it is paid. What may be refunded is what BTCPay says was paid, less earlier refunds.

Nothing holds a transaction open across the BTCPay call: a refund is first recorded as
`requesting` (one per order at a time, enforced by a unique index, so a second operator's
concurrent refund is refused), then completed with the pull payment — or removed when
BTCPay refuses, leaving nothing behind.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.admin.audit import record
from cloud.admin.locking import claim_order
from cloud.authz import Principal
from cloud.checkout import service
from cloud.checkout.flow import CheckoutContext, load_order
from cloud.checkout.models import Order, Refund, RefundStatus
from cloud.checkout.states import REFUNDABLE_STATUSES, STATUS_TEXT, OrderStatus
from cloud.db import utcnow
from cloud.domain import InputErrors, Refusal, RefusedError
from cloud.inventory.service import return_units_to_stock
from cloud.mail.outbox import queue_mail
from cloud.payments.greenfield import BtcpayError, Payout, PullPayment, refund_request
from cloud.payments.outcomes import InvoiceOutcome, OutcomeKind

_LOGGER = logging.getLogger(__name__)

CENT = Decimal("0.01")
# The refund variants the console offers (BTCPay's names), in the order it shows them.
VARIANTS: dict[str, str] = {
    "OverpaidAmount": "What was paid over the price (in bitcoin)",
    "Custom": "An amount in the order's currency",
    "Fiat": "The whole price (in the order's currency)",
}
# Orders that still ship keep their status after a part refund (an overpayment returned).
_SHIPPING_STATUSES = frozenset({OrderStatus.PAID})
# A cancelled order's units go back to stock unless they have left the shop.
_LEFT_THE_SHOP = frozenset({"shipped", "delivered"})
_PAYOUT_STATUS = {
    "AwaitingApproval": RefundStatus.CLAIMED,
    "AwaitingPayment": RefundStatus.APPROVED,
    "InProgress": RefundStatus.APPROVED,
    "Completed": RefundStatus.PAID,
}
# Refunds whose payout may still move (the reconciler re-reads them).
_FOLLOWED = (RefundStatus.AWAITING_CLAIM, RefundStatus.CLAIMED, RefundStatus.APPROVED)
_PAYOUT_RANK = {"Cancelled": 0, "AwaitingApproval": 1, "AwaitingPayment": 2, "InProgress": 3}
REFUND_STATUS_TEXT = {
    RefundStatus.REQUESTING: "Being created",
    RefundStatus.AWAITING_CLAIM: "Waiting for the buyer to claim it",
    RefundStatus.CLAIMED: "Claimed by the buyer; waiting for approval",
    RefundStatus.APPROVED: "Approved; the bitcoin is being sent",
    RefundStatus.PAID: "Refunded: the payout is paid",
}

UNPAID = Refusal(
    "order_unpaid", "Nothing was paid for this order, so there is nothing to refund.", 409
)
IN_PROGRESS = Refusal(
    "refund_in_progress",
    "Another refund of this order is being made right now. Nothing was done: reload the "
    "order and check its refunds before trying again.",
    409,
)
NO_SUCH_ORDER = Refusal("no_such_order", "There is no such order.", 404)


@dataclass(frozen=True)
class RefundRequest:
    variant: str
    amount: Decimal | None = None  # Custom only, in the order's currency


@dataclass(frozen=True)
class RefundBalance:
    """Money of one order in its currency: paid (as BTCPay says), refunded, still refundable."""

    paid: Decimal
    refunded: Decimal
    currency: str

    @property
    def refundable(self) -> Decimal:
        return max(self.paid - self.refunded, Decimal(0))


def parse_refund_form(form: Mapping[str, object]) -> RefundRequest:
    """The console's refund form: a variant, and an amount for a Custom refund."""
    variant = str(form.get("variant") or "").strip()
    if variant not in VARIANTS:
        raise InputErrors({"variant": "Choose what to refund."})
    if variant != "Custom":
        return RefundRequest(variant)
    text = str(form.get("amount") or "").strip().replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InputErrors({"amount": "Enter an amount such as 12.50."}) from None
    if not amount.is_finite() or amount <= 0:
        raise InputErrors({"amount": "Enter an amount above zero."})
    if amount != amount.quantize(CENT):
        raise InputErrors({"amount": "Enter the amount in cents at most (two decimals)."})
    return RefundRequest(variant, amount)


async def refunds_of(session: AsyncSession, order_id: str) -> list[Refund]:
    return list(
        await session.scalars(
            select(Refund).where(col(Refund.order_id) == order_id).order_by(col(Refund.id))
        )
    )


async def refunded_total(session: AsyncSession, order_id: str) -> Decimal:
    total = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            col(Refund.order_id) == order_id, col(Refund.status) != RefundStatus.REQUESTING
        )
    )
    return Decimal(str(total or 0))


def refund_amount(order: Order, balance: RefundBalance, request: RefundRequest) -> Decimal:
    """What the refund takes off what was paid, in the order's currency."""
    if request.variant == "OverpaidAmount":
        return balance.paid - order.total
    if request.variant == "Fiat":
        return order.total
    assert request.amount is not None
    return request.amount


def can_refund(order: Order, balance: RefundBalance, request: RefundRequest) -> Refusal | None:
    """Why this refund must not be made (None: it may)."""
    if order.status not in REFUNDABLE_STATUSES:
        if balance.paid <= 0 or order.status not in STATUS_TEXT:
            return UNPAID
        label = STATUS_TEXT[OrderStatus(order.status)].label.lower()
        return Refusal("not_refundable", f"An order that is {label} cannot be refunded.", 409)
    if balance.paid <= 0:
        return UNPAID
    if request.variant == "OverpaidAmount" and balance.paid <= order.total:
        return Refusal(
            "not_overpaid",
            f"The buyer paid {balance.paid} {order.currency}, not more than the price "
            f"({order.total} {order.currency}): there is no overpayment to refund.",
            409,
        )
    if request.variant == "OverpaidAmount" and balance.refunded > 0:
        # BTCPay refunds the whole overpayment again, whatever was returned since.
        return Refusal(
            "overpayment_refunded",
            f"{balance.refunded} {order.currency} of this payment was refunded already, so "
            "the overpayment cannot be refunded whole again: refund a custom amount instead.",
            409,
        )
    if request.variant == "Fiat" and balance.paid < order.total:
        return Refusal(
            "not_fully_paid",
            f"Only {balance.paid} {order.currency} of {order.total} was paid: refund a "
            "custom amount instead.",
            409,
        )
    amount = refund_amount(order, balance, request)
    if amount > balance.refundable:
        return Refusal(
            "more_than_paid",
            f"At most {balance.refundable} {order.currency} can be refunded: the buyer paid "
            f"{balance.paid} {order.currency} and {balance.refunded} {order.currency} "
            f"was refunded already. {amount} {order.currency} is more than that.",
            422,
        )
    return None


async def refund_balance(ctx: CheckoutContext, order: Order) -> RefundBalance:
    """Asks BTCPay what the order's invoice received (RefusedError when it cannot say)."""
    paid = Decimal(0)
    if order.invoice_id:
        try:
            invoice = await ctx.client.get_invoice(order.invoice_id)
        except BtcpayError as err:
            raise RefusedError(Refusal("btcpay_unavailable", err.message, 503)) from err
        if invoice is not None and invoice.paid_amount is not None:
            paid = invoice.paid_amount
    async with ctx.db() as session:
        refunded = await refunded_total(session, order.id)
    return RefundBalance(paid, refunded, order.currency)


async def refund_order(
    ctx: CheckoutContext,
    order_id: str,
    request: RefundRequest,
    actor: Principal | str,
    expected_version: int | None = None,
) -> Refund:
    """Refund through BTCPay and mail the buyer the claim link; the refund is audited as
    `actor`'s. With `expected_version` (the console page's), an order changed since by
    another operator is refused. RefusedError says why not."""
    order = await load_order(ctx, order_id)
    if order is None:
        raise RefusedError(NO_SUCH_ORDER)
    balance = await refund_balance(ctx, order)
    refusal = can_refund(order, balance, request)
    if refusal is not None:
        raise RefusedError(refusal)
    amount = refund_amount(order, balance, request)
    assert order.invoice_id is not None  # paid: it has an invoice
    refund = Refund(
        order_id=order.id,
        invoice_id=order.invoice_id,
        status=RefundStatus.REQUESTING,
        variant=request.variant,
        amount=amount,
        currency=order.currency,
        cancels_order=amount >= balance.refundable,
        operator_id=actor.user_id if isinstance(actor, Principal) else None,
    )
    try:
        async with ctx.db() as session, session.begin():
            if expected_version is not None:
                await claim_order(session, order.id, expected_version)
            session.add(refund)
    except IntegrityError:
        raise RefusedError(IN_PROGRESS) from None
    # The name is unique per refund: a refund whose answer was lost is found by it.
    name = f"Refund of Ethos order {order.id} (#{refund.id})"
    try:
        pull_payment = await _create_or_find_pull_payment(
            ctx,
            order.invoice_id,
            name,
            refund_request(
                request.variant,
                name,
                f"{VARIANTS[request.variant]}: {amount} {order.currency}",
                amount if request.variant == "Custom" else None,
                order.currency if request.variant == "Custom" else None,
            ),
        )
    except BtcpayError as err:
        async with ctx.db() as session, session.begin():
            await session.execute(delete(Refund).where(col(Refund.id) == refund.id))
            if expected_version is not None:  # the page the operator has is current again
                await session.execute(
                    update(Order)
                    .where(col(Order.id) == order.id, col(Order.version) == expected_version + 1)
                    .values(version=expected_version)
                    .execution_options(synchronize_session=False)
                )
        status = 503 if err.status is None or err.status >= 500 else 409
        raise RefusedError(Refusal("btcpay_refused", err.message, status)) from err
    async with ctx.db() as session, session.begin():
        stored = await session.get(Refund, refund.id)
        assert stored is not None
        stored.status = RefundStatus.AWAITING_CLAIM
        stored.pull_payment_id = pull_payment.id
        stored.claim_link = pull_payment.view_link
        stored.pull_payment_amount = str(pull_payment.amount)
        stored.pull_payment_currency = pull_payment.currency
        stored.updated_at = utcnow()
        await _apply_to_order(session, order.id, stored)
        queue_mail(session, order.email, *claim_mail(ctx, order, stored))
        await record(
            session,
            actor,
            "order.refund",
            f"order:{order.id}",
            {
                "amount": f"{amount} {order.currency}",
                "variant": request.variant,
                "pull_payment": pull_payment.id,
                "cancels_order": stored.cancels_order,
            },
        )
        refund = stored
    ctx.wake_mail()
    _LOGGER.info(
        "order %s: %s %s refunded (%s), pull payment %s",
        order.id,
        amount,
        order.currency,
        request.variant,
        pull_payment.id,
    )
    return refund


async def _create_or_find_pull_payment(
    ctx: CheckoutContext, invoice_id: str, name: str, body: dict[str, object]
) -> PullPayment:
    """Ask BTCPay to refund; when the answer is lost (a timeout, a dropped connection),
    BTCPay may have created the pull payment all the same: look for it by its name before
    giving up, so a retried refund never pays twice."""
    try:
        return await ctx.client.refund_invoice(invoice_id, body)
    except BtcpayError as err:
        if err.status is not None:
            raise  # BTCPay answered: it refused, nothing was created
        try:
            created = [p for p in await ctx.client.list_pull_payments() if p.name == name]
        except BtcpayError:
            raise err from None
        if not created:
            raise
        _LOGGER.warning("refund answer lost; pull payment %s found by its name", created[0].id)
        return created[0]


async def _apply_to_order(session: AsyncSession, order_id: str, refund: Refund) -> None:
    """The order after a refund: refunded (its units back in stock, unless shipped) when
    nothing is left; partly refunded when it will not ship anyway; an order that ships
    keeps its status."""
    for _ in range(5):
        order = await session.get(Order, order_id, populate_existing=True)
        assert order is not None
        if refund.cancels_order:
            target = OrderStatus.REFUNDED
        elif order.status in _SHIPPING_STATUSES:
            return
        else:
            target = OrderStatus.PARTLY_REFUNDED
        if order.status == target:
            return
        if await service.move_order(session, order, target, next_check_at=None):
            if target == OrderStatus.REFUNDED and order.fulfilment not in _LEFT_THE_SHOP:
                await return_units_to_stock(session, order_id)
            return
    raise RefusedError(IN_PROGRESS)


def claim_mail(ctx: CheckoutContext, order: Order, refund: Refund) -> tuple[str, str]:
    """(subject, body) telling the buyer how to claim their refund."""
    paid_in = (
        f"{refund.pull_payment_amount} {refund.pull_payment_currency}"
        if refund.pull_payment_currency and refund.pull_payment_currency != refund.currency
        else f"{refund.amount} {refund.currency}"
    )
    cancelled = "Your order is cancelled; nothing will ship.\n\n" if refund.cancels_order else ""
    body = (
        f"We are refunding {refund.amount} {refund.currency} of your Ethos order "
        f"({paid_in}).\n\n{cancelled}"
        "To receive it, open this link and enter a bitcoin address of your own wallet:\n"
        f"{refund.claim_link}\n\n"
        "We send the bitcoin once you have claimed it. You can follow the refund on your "
        f"order page: {ctx.order_link(order.id)}\n"
    )
    return "Your Ethos refund is ready to claim", body


async def follow_payout(
    ctx: CheckoutContext, pull_payment_id: str, payout_id: str
) -> InvoiceOutcome:
    """A payout webhook: re-read the pull payment's payouts and record how far the refund
    is. Idempotent; deliveries out of order end in the same state."""
    async with ctx.db() as session:
        refund = await session.scalar(
            select(Refund).where(col(Refund.pull_payment_id) == pull_payment_id)
        )
    if refund is None:
        return InvoiceOutcome.ignored("not one of our refunds")
    try:
        payouts = await ctx.client.list_payouts(pull_payment_id)
    except BtcpayError as err:
        return InvoiceOutcome.retry(err.message)
    current = _leading_payout(payouts)
    status = RefundStatus.AWAITING_CLAIM if current is None else _PAYOUT_STATUS[current.state]
    if status == refund.status and (current is None or current.id == refund.payout_id):
        return InvoiceOutcome.unchanged(status)
    async with ctx.db() as session, session.begin():
        await session.execute(
            update(Refund)
            .where(col(Refund.id) == refund.id, col(Refund.status) != RefundStatus.PAID)
            .values(
                status=status,
                payout_id=current.id if current else None,
                payout_state=current.state if current else None,
                paid_at=utcnow() if status == RefundStatus.PAID else None,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
    _LOGGER.info("refund %s (order %s): %s", refund.id, refund.order_id, status)
    return InvoiceOutcome.moved(status)


async def follow_open_refunds(
    ctx: CheckoutContext, quiet_for: timedelta | None = None, limit: int = 50
) -> int:
    """For payout webhooks that never came: re-read the payouts of refunds not paid yet
    and unchanged for `quiet_for` (default: the reconcile interval). Returns how many
    moved. Idempotent, so replicas doing it side by side agree."""
    since = utcnow() - (ctx.check_interval if quiet_for is None else quiet_for)
    async with ctx.db() as session:
        open_refunds = list(
            await session.scalars(
                select(Refund)
                .where(
                    col(Refund.status).in_(_FOLLOWED),
                    col(Refund.pull_payment_id).is_not(None),
                    col(Refund.updated_at) <= since,
                )
                .order_by(col(Refund.updated_at))
                .limit(limit)
            )
        )
    moved = 0
    for refund in open_refunds:
        assert refund.pull_payment_id is not None
        outcome = await follow_payout(ctx, refund.pull_payment_id, refund.payout_id or "")
        if outcome.kind is OutcomeKind.RETRY:
            _LOGGER.warning("refund %s not checked: %s", refund.id, outcome.reason)
            break  # BTCPay is not answering: try the rest next time
        moved += int(outcome.moved_order)
        if not outcome.moved_order:  # look again only after another quiet interval
            async with ctx.db() as session, session.begin():
                await session.execute(
                    update(Refund)
                    .where(col(Refund.id) == refund.id, col(Refund.status) == refund.status)
                    .values(updated_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
    return moved


def _leading_payout(payouts: list[Payout]) -> Payout | None:
    """The payout that says how far the refund is: a completed one, else the furthest."""
    for payout in payouts:
        if payout.state == "Completed":
            return payout
    live = [p for p in payouts if p.state in _PAYOUT_STATUS]
    return max(live, key=lambda p: _PAYOUT_RANK.get(p.state, 0), default=None)
