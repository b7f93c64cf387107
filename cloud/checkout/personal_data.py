"""The buyer's orders as personal data: exported with their lines and timeline; on deletion
kept for accounting (ids, lines, amounts, invoice ids, dates) with the buyer removed.

An erased order has no account and a pseudonymous address that no mailbox or account can
ever have (the reserved `.invalid` domain), so no guest-order attachment or mail reaches
anyone, and its guest link stops opening it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.personal_data import DataSubject, PersonalDataHolder, iso, listing, plural
from cloud.checkout.models import Order, Refund
from cloud.checkout.service import order_lines
from cloud.checkout.states import STATUS_TEXT, OrderStatus
from cloud.checkout.timeline import order_timeline
from cloud.db import utcnow
from cloud.domain import Refusal
from cloud.inventory.models import Ownership

ERASED_EMAIL = "erased@erased.invalid"
_DELIVERED = "delivered"  # cloud/shipping's last fulfilment step
# While an order is in one of these, money is moving or owed: the buyer must be reachable.
BLOCKS_DELETION = frozenset(
    {
        OrderStatus.AWAITING_INVOICE,
        OrderStatus.AWAITING_PAYMENT,
        OrderStatus.PART_PAID,
        OrderStatus.CONFIRMING,
        OrderStatus.EXPIRED_PART_PAID,
        OrderStatus.PAID_LATE,
        OrderStatus.BACKORDER,
    }
)


def orders_of_subject(subject: DataSubject) -> Any:
    """The account's orders, and guest orders bought with its address (not yet attached)."""
    return and_(
        col(Order.erased_at).is_(None),
        or_(
            col(Order.user_id) == subject.user_id,
            and_(col(Order.user_id).is_(None), col(Order.email) == subject.email),
        ),
    )


async def _orders(session: AsyncSession, subject: DataSubject) -> list[Order]:
    return list(
        await session.scalars(
            select(Order).where(orders_of_subject(subject)).order_by(col(Order.created_at))
        )
    )


async def _refunds(session: AsyncSession, order_id: str) -> list[Refund]:
    return list(
        await session.scalars(
            select(Refund).where(col(Refund.order_id) == order_id).order_by(col(Refund.id))
        )
    )


def _still_owed(order: Order) -> bool:
    """Money moving or owed, or a paid order not yet delivered: the buyer must be reachable
    (and its shipping address kept) until it is done."""
    if order.status in BLOCKS_DELETION:
        return True
    return order.status == OrderStatus.PAID and order.fulfilment != _DELIVERED


async def export_orders(session: AsyncSession, subject: DataSubject) -> list[dict[str, Any]]:
    out = []
    for order in await _orders(session, subject):
        out.append(
            {
                "id": order.id,
                "email": order.email,
                "status": order.status,
                "status_label": STATUS_TEXT[OrderStatus(order.status)].label,
                "total": str(order.total),
                "currency": order.currency,
                "invoice_id": order.invoice_id,
                "created_at": iso(order.created_at),
                "updated_at": iso(order.updated_at),
                "lines": [
                    {
                        "sku": line.sku,
                        "name": line.name,
                        "unit_price": str(line.unit_price),
                        "quantity": line.quantity,
                    }
                    for line in await order_lines(session, order.id)
                ],
                "timeline": [
                    {"step": step.key, "at": iso(step.at), "detail": step.detail}
                    for step in order_timeline(order, await _refunds(session, order.id))
                ],
            }
        )
    return out


async def preview_orders(session: AsyncSession, subject: DataSubject) -> list[str]:
    orders = await _orders(session, subject)
    if not orders:
        return ["You have no orders."]
    return [
        f"{plural(len(orders), 'order')} ({listing(o.id for o in orders)}) "
        "stay in our books, as accounting law requires: what was bought, the amounts, the "
        "dates and the BTCPay invoice ids. Your address is removed from them, and their "
        "pages no longer open, not even with their link."
    ]


async def refuse_while_orders_open(session: AsyncSession, subject: DataSubject) -> Refusal | None:
    busy = [o for o in await _orders(session, subject) if _still_owed(o)]
    if not busy:
        return None
    described = "; ".join(f"{o.id}: {_state(o)}" for o in busy)
    return Refusal(
        "orders_in_progress",
        "Some orders still need you: money is on its way or owed to you, or a device is "
        f"still to reach you ({described}). Cancel unpaid orders, or wait until they are "
        "delivered, settled or refunded, then delete your account.",
        409,
    )


def _state(order: Order) -> str:
    label = STATUS_TEXT[OrderStatus(order.status)].label.lower()
    if order.status == OrderStatus.PAID:
        return f"{label}, {order.fulfilment or 'not yet shipped'}"
    return label


async def erase_orders(session: AsyncSession, subject: DataSubject) -> None:
    await session.execute(
        update(Order)
        .where(orders_of_subject(subject))
        .values(user_id=None, email=ERASED_EMAIL, erased_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def follow_email_change(session: AsyncSession, user_id: int, old: str, new: str) -> None:
    """The account moved to a new address: its orders and devices mail and know that one."""
    await session.execute(
        update(Order)
        .where(col(Order.user_id) == user_id, col(Order.erased_at).is_(None))
        .values(email=new)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Ownership)
        .where(col(Ownership.user_id) == user_id)
        .values(email=new)
        .execution_options(synchronize_session=False)
    )


ORDERS_HOLDER = PersonalDataHolder(
    section="orders",
    columns=frozenset({"orders.user_id", "orders.email"}),
    export=export_orders,
    preview=preview_orders,
    erase=erase_orders,
    can_erase=refuse_while_orders_open,
)
