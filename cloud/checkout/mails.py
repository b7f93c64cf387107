"""Mails to buyers, one per order status they need to know about. Plain text."""

from __future__ import annotations

from cloud.checkout.states import STATUS_TEXT, OrderStatus, notes_for

_SUBJECTS = {
    OrderStatus.PART_PAID: "Your Ethos order is partly paid",
    OrderStatus.CONFIRMING: "We received your payment",
    OrderStatus.PAID: "Receipt for your Ethos order",
    OrderStatus.BACKORDER: "Your Ethos order is paid and on backorder",
    OrderStatus.EXPIRED: "Your Ethos order expired",
    OrderStatus.EXPIRED_PART_PAID: "Your Ethos order expired after a partial payment",
    OrderStatus.PAID_LATE: "Your payment arrived after the invoice expired",
    OrderStatus.INVALID: "Your Ethos payment failed",
}


def mails_buyer(status: OrderStatus) -> bool:
    return status in _SUBJECTS


def status_mail(
    status: OrderStatus,
    order_link: str,
    total: str,
    lines: list[tuple[str, int, str]],
    additional: str | None,
    serials: list[str] | None = None,
) -> tuple[str, str] | None:
    """(subject, body) for a status change, or None when the buyer need not be told."""
    subject = _SUBJECTS.get(status)
    if subject is None:
        return None
    text = STATUS_TEXT[status]
    items = "\n".join(f"  {qty} × {name}  {price}" for name, qty, price in lines)
    body = f"{text.label}.\n\n{text.explanation}\n\n"
    for note in notes_for(additional):
        body += f"{note}\n\n"
    body += f"Order total: {total}\n{items}\n\n"
    if serials:
        body += "Your devices: " + ", ".join(serials) + "\n\n"
    body += f"Follow your order: {order_link}\n"
    return subject, body
