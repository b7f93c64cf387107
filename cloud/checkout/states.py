"""The order state machine: BTCPay invoice states mapped to order states, forward only.

Pure functions, no I/O: what an invoice status means for an order, whether an order may
move there, and what the buyer is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OrderStatus(StrEnum):
    AWAITING_INVOICE = "awaiting_invoice"  # BTCPay could not be reached yet; retried
    AWAITING_PAYMENT = "awaiting_payment"
    PART_PAID = "part_paid"
    CONFIRMING = "confirming"
    EXPIRED = "expired"
    EXPIRED_PART_PAID = "expired_part_paid"
    INVALID = "invalid"
    PAID_LATE = "paid_late"
    PAID = "paid"  # settled: units allocated, ready to ship
    BACKORDER = "backorder"  # settled, but the stock it held was gone
    PARTLY_REFUNDED = "partly_refunded"  # an operator returned part of what was paid
    REFUNDED = "refunded"  # everything paid is being returned; nothing ships
    CANCELLED = "cancelled"  # the buyer cancelled it unpaid; its invoice was marked invalid


class InvoiceStatus(StrEnum):
    NEW = "New"
    PROCESSING = "Processing"
    SETTLED = "Settled"
    EXPIRED = "Expired"
    INVALID = "Invalid"


class AdditionalStatus(StrEnum):
    NONE = "None"
    PAID_PARTIAL = "PaidPartial"
    PAID_OVER = "PaidOver"
    PAID_LATE = "PaidLate"
    MARKED = "Marked"
    INVALID = "Invalid"


# Higher ranks come later; an order only ever moves to a higher rank.
_RANK = {
    OrderStatus.AWAITING_INVOICE: 0,
    OrderStatus.AWAITING_PAYMENT: 1,
    OrderStatus.PART_PAID: 2,
    OrderStatus.CONFIRMING: 3,
    OrderStatus.EXPIRED: 4,
    OrderStatus.EXPIRED_PART_PAID: 4,
    OrderStatus.INVALID: 4,
    OrderStatus.PAID_LATE: 5,
    OrderStatus.PAID: 6,
    OrderStatus.BACKORDER: 6,
    OrderStatus.PARTLY_REFUNDED: 7,
    OrderStatus.REFUNDED: 8,
    # Level with the other unpaid ends: the Invalid news of its own marking does not move
    # it, while a payment that still arrives does (paid, as a late payment would).
    OrderStatus.CANCELLED: 4,
}

# The reconciler re-reads these invoices: BTCPay may still move them.
OPEN_STATUSES = frozenset(
    {OrderStatus.AWAITING_PAYMENT, OrderStatus.PART_PAID, OrderStatus.CONFIRMING}
)
# Expired invoices are still watched (less often) for late payments and manual marking.
EXPIRED_STATUSES = frozenset(
    {OrderStatus.EXPIRED, OrderStatus.EXPIRED_PART_PAID, OrderStatus.PAID_LATE}
)
WATCHED_STATUSES = OPEN_STATUSES | EXPIRED_STATUSES
# Entering these ends the reservation: the units go back on sale.
RELEASING_STATUSES = EXPIRED_STATUSES | {OrderStatus.INVALID}
# An operator may refund these (through BTCPay): something was paid and nothing has shipped.
REFUNDABLE_STATUSES = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.BACKORDER,
        OrderStatus.EXPIRED_PART_PAID,
        OrderStatus.PAID_LATE,
        OrderStatus.PARTLY_REFUNDED,
    }
)


def order_status_for(status: str, additional: str | None) -> OrderStatus | None:
    """What an invoice state means for its order (None: a status we do not know)."""
    if status == InvoiceStatus.SETTLED:
        return OrderStatus.PAID
    if status == InvoiceStatus.PROCESSING:
        return OrderStatus.CONFIRMING
    if status == InvoiceStatus.NEW:
        if additional == AdditionalStatus.PAID_PARTIAL:
            return OrderStatus.PART_PAID
        return OrderStatus.AWAITING_PAYMENT
    if status == InvoiceStatus.EXPIRED:
        if additional == AdditionalStatus.PAID_LATE:
            return OrderStatus.PAID_LATE
        if additional == AdditionalStatus.PAID_PARTIAL:
            return OrderStatus.EXPIRED_PART_PAID
        return OrderStatus.EXPIRED
    if status == InvoiceStatus.INVALID:
        return OrderStatus.INVALID
    return None


def can_move(current: str, target: OrderStatus) -> bool:
    """Forward only: stale, reordered or replayed news never moves an order back."""
    return _RANK[target] > _RANK[OrderStatus(current)]


@dataclass(frozen=True)
class StatusText:
    label: str
    explanation: str


STATUS_TEXT: dict[OrderStatus, StatusText] = {
    OrderStatus.AWAITING_INVOICE: StatusText(
        "Payment not ready",
        "We could not reach our payment processor. Your order and items are kept; "
        "try again in a moment.",
    ),
    OrderStatus.AWAITING_PAYMENT: StatusText(
        "Waiting for payment", "Pay the bitcoin invoice before it expires."
    ),
    OrderStatus.PART_PAID: StatusText(
        "Partly paid",
        "We received part of the amount. Pay the rest on the invoice page before it expires.",
    ),
    OrderStatus.CONFIRMING: StatusText(
        "Payment received, confirming",
        "Your payment is in; we ship once the bitcoin network has confirmed it.",
    ),
    OrderStatus.PAID: StatusText(
        "Paid", "Your payment is confirmed. Your devices are reserved for you and will ship."
    ),
    OrderStatus.BACKORDER: StatusText(
        "Paid, on backorder",
        "Your payment is confirmed, but the last unit went to another buyer while your "
        "invoice was open. We will ship when stock arrives, or refund you if you ask.",
    ),
    OrderStatus.EXPIRED: StatusText(
        "Expired", "The invoice expired without payment. Nothing was charged."
    ),
    OrderStatus.EXPIRED_PART_PAID: StatusText(
        "Expired, partly paid",
        "The invoice expired after a partial payment. We will contact you to refund it.",
    ),
    OrderStatus.PAID_LATE: StatusText(
        "Paid after expiry",
        "Your payment arrived after the invoice expired. We will contact you to ship or refund it.",
    ),
    OrderStatus.INVALID: StatusText(
        "Payment failed",
        "The payment could not be confirmed. Nothing will ship; contact us if you paid.",
    ),
    OrderStatus.PARTLY_REFUNDED: StatusText(
        "Partly refunded",
        "We are returning part of your payment: claim it with the link we mailed you.",
    ),
    OrderStatus.REFUNDED: StatusText(
        "Refunded",
        "This order is cancelled and your payment is being returned: claim it with the link "
        "we mailed you.",
    ),
    OrderStatus.CANCELLED: StatusText(
        "Cancelled", "You cancelled this order before paying. Nothing was charged."
    ),
}

OVERPAID_NOTE = "You paid more than the invoice amount; we will refund the difference."
MARKED_NOTE = "Our staff recorded this payment by hand."


def notes_for(additional: str | None) -> list[str]:
    if additional == AdditionalStatus.PAID_OVER:
        return [OVERPAID_NOTE]
    if additional == AdditionalStatus.MARKED:
        return [MARKED_NOTE]
    return []
