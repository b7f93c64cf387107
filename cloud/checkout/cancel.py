"""A buyer cancels an unpaid order (Execute / CanExecute): its invoice is marked Invalid at
BTCPay, so it can no longer be paid, then the order is cancelled and its held units go
back on sale.

BTCPay is asked first, the order changed after: if BTCPay cannot be reached, or a payment
has already reached the invoice, nothing changes and the buyer is told why. The invoice is
read just before marking it, so a payment already seen is never thrown away by marking a
paid invoice Invalid. Should a payment still arrive after the marking, the order moves on
to paid as a late payment would (CANCELLED ranks with the other unpaid ends).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import col

from cloud.checkout.flow import CheckoutContext, load_order, sync_order_with_invoice
from cloud.checkout.models import Order
from cloud.checkout.states import STATUS_TEXT, AdditionalStatus, InvoiceStatus, OrderStatus
from cloud.db import affected_rows, utcnow
from cloud.domain import Refusal, RefusedError
from cloud.inventory.service import release_units
from cloud.payments.greenfield import BtcpayError, Invoice

_LOGGER = logging.getLogger(__name__)

CANCELLABLE = frozenset({OrderStatus.AWAITING_INVOICE, OrderStatus.AWAITING_PAYMENT})
ALREADY_CANCELLED = Refusal("already_cancelled", "This order is already cancelled.", 409)
INVOICE_OPENING = Refusal(
    "invoice_opening",
    "The invoice of this order is being opened right now: try again in a moment.",
    409,
)
PAYMENT_ARRIVED = Refusal(
    "payment_arrived",
    "A payment has reached this order's invoice, so it can no longer be cancelled here. "
    "Contact us if you want a refund.",
    409,
)


def can_cancel(order: Order, now: datetime | None = None) -> Refusal | None:
    """Side-effect free: None when the buyer may cancel the order, else why not."""
    now = now or utcnow()
    if order.status == OrderStatus.CANCELLED:
        return ALREADY_CANCELLED
    if order.status not in CANCELLABLE:
        label = STATUS_TEXT[OrderStatus(order.status)].label.lower()
        return Refusal(
            "not_cancellable",
            f"Only an unpaid order waiting for payment can be cancelled; this one is {label}.",
            409,
        )
    if (
        order.status == OrderStatus.AWAITING_INVOICE
        and order.invoice_claimed_until is not None
        and order.invoice_claimed_until > now
    ):
        return INVOICE_OPENING
    return None


def _unreachable(err: BtcpayError) -> RefusedError:
    return RefusedError(Refusal("btcpay_unavailable", f"{err.message} Nothing was cancelled.", 503))


def _untouched(invoice: Invoice) -> bool:
    return invoice.status == InvoiceStatus.NEW and invoice.additional_status in (
        AdditionalStatus.NONE,
        "",
    )


async def _mark_invoice_invalid(ctx: CheckoutContext, invoice_id: str) -> bool:
    """Make the invoice unpayable; False when BTCPay no longer knows it (nothing to pay)."""
    try:
        invoice = await ctx.client.get_invoice(invoice_id)
        if invoice is None:
            return False
        if not _untouched(invoice):
            await sync_order_with_invoice(ctx, invoice)  # the page then shows the payment
            raise RefusedError(PAYMENT_ARRIVED)
        await ctx.client.mark_invoice_invalid(invoice_id)
    except BtcpayError as err:
        raise _unreachable(err) from err
    return True


async def cancel_order(ctx: CheckoutContext, order_id: str) -> Order:
    """Cancel an unpaid order; raises RefusedError (nothing changed) when it may not."""
    order = await load_order(ctx, order_id)
    if order is None:
        raise RefusedError(Refusal("no_such_order", "There is no such order.", 404))
    now = utcnow()
    if (refusal := can_cancel(order, now)) is not None:
        raise RefusedError(refusal)
    marked = bool(order.invoice_id) and await _mark_invoice_invalid(ctx, order.invoice_id or "")
    # Our own marking's webhook may have moved the order to invalid a moment ago.
    expected = [order.status, OrderStatus.INVALID] if marked else [order.status]
    fields: dict[str, object] = {
        "status": OrderStatus.CANCELLED,
        "cancelled_at": now,
        "updated_at": now,
        "next_check_at": None,
        "invoice_claimed_until": None,
    }
    if marked:
        fields.update(
            invoice_status=InvoiceStatus.INVALID,
            invoice_additional_status=AdditionalStatus.MARKED,
        )
    async with ctx.db() as session, session.begin():
        result = await session.execute(
            update(Order)
            .where(
                col(Order.id) == order.id,
                col(Order.status).in_(expected),
                col(Order.invoice_id).is_(None)
                if order.invoice_id is None
                else col(Order.invoice_id) == order.invoice_id,
                or_(
                    col(Order.invoice_claimed_until).is_(None),
                    col(Order.invoice_claimed_until) <= now,
                    col(Order.status) != OrderStatus.AWAITING_INVOICE,
                ),
            )
            .values(**fields)
            .execution_options(synchronize_session=False)
        )
        if affected_rows(result) != 1:
            current = await session.get(Order, order.id)
            raise RefusedError((current and can_cancel(current, now)) or INVOICE_OPENING)
        released = await release_units(session, order.id)
    _LOGGER.info("order %s cancelled by its buyer, %d units back on sale", order.id, released)
    cancelled = await load_order(ctx, order.id)
    assert cancelled is not None
    return cancelled
