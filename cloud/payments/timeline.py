"""The invoice timeline: each webhook delivery acted on and each reconciler read, with the
status BTCPay reported and the amounts, for the operator's order page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.db import row_values
from cloud.payments.greenfield import Invoice
from cloud.payments.models import InvoiceEvent
from cloud.payments.outcomes import InvoiceOutcome

SOURCE_WEBHOOK = "webhook"
SOURCE_RECONCILER = "reconciler"


def _payment_value(event: Mapping[str, Any]) -> Decimal | None:
    """The value of the payment an event reports (InvoiceReceivedPayment and the like)."""
    payment = event.get("payment")
    if not isinstance(payment, Mapping):
        return None
    try:
        value = Decimal(str(payment.get("value")))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and abs(value) < Decimal("1e12") else None


def webhook_event(
    event: Mapping[str, Any],
    invoice_id: str,
    delivery_id: str,
    invoice: Invoice | None,
    outcome: InvoiceOutcome,
    holder_id: str | None = None,
) -> dict[str, Any]:
    """The timeline row for a verified delivery, as `row_values` (inserted in the webhook's
    own transaction with `insert_values`); `holder_id`: the order known to hold the invoice
    when BTCPay was not asked for it."""
    order_id = invoice.order_id if invoice and invoice.order_id else holder_id
    return row_values(
        InvoiceEvent,
        order_id=order_id[:32] if order_id else None,
        invoice_id=invoice_id[:64],
        source=SOURCE_WEBHOOK,
        event_type=str(event.get("type", ""))[:48] or None,
        delivery_id=delivery_id[:64],
        status=invoice.status[:16] if invoice else None,
        additional_status=invoice.additional_status[:16] if invoice else None,
        amount=invoice.amount if invoice else None,
        currency=invoice.currency[:8] if invoice else None,
        payment_value=_payment_value(event),
        outcome=str(outcome)[:200],
    )


def reconciler_read(order_id: str, invoice: Invoice, outcome: InvoiceOutcome) -> InvoiceEvent:
    return InvoiceEvent(
        order_id=order_id,
        invoice_id=invoice.id[:64],
        source=SOURCE_RECONCILER,
        status=invoice.status[:16],
        additional_status=invoice.additional_status[:16],
        amount=invoice.amount,
        currency=invoice.currency[:8],
        outcome=str(outcome)[:200],
    )


async def order_timeline(
    session: AsyncSession, order_id: str, invoice_id: str | None
) -> Sequence[InvoiceEvent]:
    """Every step recorded for the order's invoice, oldest first."""
    where = col(InvoiceEvent.order_id) == order_id
    if invoice_id:
        where = where | (col(InvoiceEvent.invoice_id) == invoice_id)
    rows = await session.scalars(
        select(InvoiceEvent).where(where).order_by(col(InvoiceEvent.at), col(InvoiceEvent.id))
    )
    return rows.all()
