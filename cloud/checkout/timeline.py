"""An order's status timeline for its buyer: created, paid, then packed, shipped (with the
carrier and tracking number), delivered, refunded or cancelled, as they happen.

Pure: read from the order row. Steps whose timestamp column the order does not have (yet)
are left out, so areas that add a step add its `<step>_at` column and it shows up here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cloud.checkout.models import Order, Refund
from cloud.checkout.states import STATUS_TEXT, OrderStatus

# (step, its timestamp column, what the buyer reads)
_STEPS = (
    ("created", "created_at", "Order placed"),
    ("paid", "paid_at", "Paid"),
    ("packed", "packed_at", "Packed"),
    ("shipped", "shipped_at", "Shipped"),
    ("delivered", "delivered_at", "Delivered"),
    ("cancelled", "cancelled_at", "Cancelled"),
)
# Ends that have no timestamp column of their own: dated by the order's last change.
_ENDS_DATED_BY_UPDATE = frozenset(
    {
        OrderStatus.EXPIRED,
        OrderStatus.EXPIRED_PART_PAID,
        OrderStatus.INVALID,
        OrderStatus.PAID_LATE,
    }
)
_CARRIER_FIELDS = ("carrier",)
_TRACKING_FIELDS = ("tracking_number", "tracking")


@dataclass(frozen=True)
class TimelineStep:
    key: str
    label: str
    at: datetime
    detail: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None


def _first(order: Order, names: tuple[str, ...]) -> str | None:
    for name in names:
        value = getattr(order, name, None)
        if value:
            return str(value)
    return None


def shipment_detail(order: Order) -> str | None:
    """ "Carrier, tracking number" when the order was shipped with them."""
    parts = [p for p in (_first(order, _CARRIER_FIELDS), _first(order, _TRACKING_FIELDS)) if p]
    return ", tracking number ".join(parts) if parts else None


def order_timeline(order: Order, refunds: Iterable[Refund] = ()) -> list[TimelineStep]:
    """The steps the order went through, oldest first (refunds from their own rows)."""
    steps = []
    for key, column, label in _STEPS:
        at = getattr(order, column, None)
        if isinstance(at, datetime):
            if key == "shipped":
                steps.append(
                    TimelineStep(
                        key,
                        label,
                        at,
                        shipment_detail(order),
                        _first(order, _CARRIER_FIELDS),
                        _first(order, _TRACKING_FIELDS),
                    )
                )
            else:
                steps.append(TimelineStep(key, label, at))
    for refund in refunds:
        amount = f"{refund.amount} {refund.currency}"
        steps.append(TimelineStep("refund_started", "Refund started", refund.created_at, amount))
        if refund.paid_at is not None:
            steps.append(TimelineStep("refunded", "Refund paid", refund.paid_at, amount))
    if order.status in _ENDS_DATED_BY_UPDATE:
        status = OrderStatus(order.status)
        steps.append(TimelineStep(str(status), STATUS_TEXT[status].label, order.updated_at))
    steps.sort(key=lambda step: step.at)
    return steps
