"""Shipping operations (Execute / CanExecute): pack, ship with tracking, deliver; and the
address's life: stored at checkout, read by operators, erased after delivery.

Each transition is one compare-and-set UPDATE on the order row (the status must still be
paid and the fulfilment still the expected one), the first statement of its transaction:
two operators acting on one order at once serialise on the row, one wins and the other is
refused with the reason; a refused transition writes nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.checkout.models import Order
from cloud.checkout.states import STATUS_TEXT, OrderStatus
from cloud.db import affected_rows, insert_values, row_values, utcnow
from cloud.domain import InputErrors, Refusal, RefusedError
from cloud.mail.outbox import queue_mail
from cloud.shipping.address import Address, seal_address, unseal_address
from cloud.shipping.models import ShippingAddress

_LOGGER = logging.getLogger(__name__)

CARRIER_MAX = 60
TRACKING_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{3,39}$")
# What ships: paid orders, and paid orders of which part was refunded (an overpayment, a
# line); a fully refunded order ships nothing.
SHIPPABLE = (OrderStatus.PAID, OrderStatus.PARTLY_REFUNDED)
# Orders that ended without shipping keep no address longer than delivered ones do.
ENDED_UNSHIPPED = (
    OrderStatus.EXPIRED,
    OrderStatus.INVALID,
    OrderStatus.CANCELLED,
    OrderStatus.REFUNDED,
)


class Fulfilment(StrEnum):
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"


class ShippingAction(StrEnum):
    PACK = "pack"
    SHIP = "ship"
    DELIVER = "deliver"


# What each action needs the order's fulfilment to be, and what it makes it.
_FROM: dict[ShippingAction, Fulfilment | None] = {
    ShippingAction.PACK: None,
    ShippingAction.SHIP: Fulfilment.PACKED,
    ShippingAction.DELIVER: Fulfilment.SHIPPED,
}
_TO = {
    ShippingAction.PACK: Fulfilment.PACKED,
    ShippingAction.SHIP: Fulfilment.SHIPPED,
    ShippingAction.DELIVER: Fulfilment.DELIVERED,
}
_DONE = {
    Fulfilment.PACKED: "packed",
    Fulfilment.SHIPPED: "shipped",
    Fulfilment.DELIVERED: "delivered",
}


@dataclass(frozen=True)
class Tracking:
    carrier: str
    number: str


def parse_tracking(carrier: str | None, number: str | None) -> Tracking:
    """Carrier and tracking number from the operator's form; InputErrors names the faults."""
    carrier = " ".join((carrier or "").split())
    number = " ".join((number or "").split())
    errors: dict[str, str] = {}
    if not carrier:
        errors["carrier"] = "Name the carrier."
    elif len(carrier) > CARRIER_MAX or not carrier.isprintable():
        errors["carrier"] = f"Keep the carrier's name under {CARRIER_MAX} plain characters."
    if not TRACKING_RE.match(number):
        errors["tracking_number"] = (
            "Enter the tracking number: 4 to 40 letters, digits, spaces or dashes."
        )
    if errors:
        raise InputErrors(errors)
    return Tracking(carrier, number)


def status_label(status: str) -> str:
    try:
        return STATUS_TEXT[OrderStatus(status)].label
    except (ValueError, KeyError):
        return status


def can_execute(order: Order, action: ShippingAction) -> Refusal | None:
    """Side-effect free: None when `action` may run on the order now, else why not."""
    if order.status not in SHIPPABLE:
        return Refusal(
            "not_paid",
            f"Only a paid order can be {_DONE[_TO[action]]}: this one is "
            f"'{status_label(order.status)}'.",
        )
    needed = _FROM[action]
    if order.fulfilment == needed:
        return None
    if needed is not None and order.fulfilment is None:
        return Refusal("not_packed", "Pack the order before shipping it.")
    if action == ShippingAction.DELIVER and order.fulfilment == Fulfilment.PACKED:
        return Refusal("not_shipped", "Ship the order before marking it delivered.")
    current = _DONE[Fulfilment(order.fulfilment)] if order.fulfilment else "not packed"
    return Refusal(f"already_{_DONE[_TO[action]]}", f"This order is already {current}.")


async def execute(
    session: AsyncSession,
    order_id: str,
    action: ShippingAction,
    *,
    tracking: Tracking | None = None,
    order_link: str = "",
    erase_days: int = 30,
) -> Order:
    """Apply `action` in the caller's transaction, or raise RefusedError (nothing written).

    Shipping queues the buyer's mail with the tracking number; delivering starts the
    address's countdown to erasure.
    """
    if action == ShippingAction.SHIP and tracking is None:
        raise ValueError("shipping needs the carrier and tracking number")
    now = utcnow()
    values: dict[str, object] = {"fulfilment": _TO[action], "updated_at": now}
    if action == ShippingAction.PACK:
        values["packed_at"] = now
    elif action == ShippingAction.SHIP:
        assert tracking is not None
        values.update(shipped_at=now, carrier=tracking.carrier, tracking_number=tracking.number)
    else:
        values["delivered_at"] = now
    expected = _FROM[action]
    fulfilment = col(Order.fulfilment)
    result = await session.execute(
        update(Order)
        .where(
            col(Order.id) == order_id,
            col(Order.status).in_(SHIPPABLE),
            fulfilment.is_(None) if expected is None else fulfilment == expected,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    order = await session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise RefusedError(Refusal("no_order", "There is no such order.", 404))
    if affected_rows(result) != 1:
        refusal = can_execute(order, action)
        raise RefusedError(refusal or Refusal("busy", "The order changed; try again."))
    if action == ShippingAction.SHIP:
        assert tracking is not None
        queue_mail(session, order.email, *shipped_mail(order.id, tracking, order_link))
    elif action == ShippingAction.DELIVER:
        await session.execute(
            update(ShippingAddress)
            .where(col(ShippingAddress.order_id) == order_id)
            .values(erase_after=now + timedelta(days=erase_days))
            .execution_options(synchronize_session=False)
        )
    _LOGGER.info("order %s: %s", order_id, _TO[action])
    return order


def shipped_mail(order_id: str, tracking: Tracking, order_link: str) -> tuple[str, str]:
    body = (
        "Your Ethos order is on its way.\n\n"
        f"Carrier: {tracking.carrier}\n"
        f"Tracking number: {tracking.number}\n\n"
        f"Follow your order: {order_link}\n"
    )
    return f"Your Ethos order {order_id} has shipped", body


async def store_address(
    session: AsyncSession, secret_key: str, order_id: str, address: Address
) -> None:
    """Keep the order's address, sealed, in the caller's (order-placing) transaction
    (a Core INSERT: on every checkout, the ORM's flush cost more than the row)."""
    await insert_values(
        session,
        ShippingAddress,
        row_values(
            ShippingAddress, order_id=order_id, sealed=seal_address(secret_key, order_id, address)
        ),
    )


@dataclass(frozen=True)
class StoredAddress:
    address: Address | None  # None: erased (or never given)
    erased_at: datetime | None
    erase_after: datetime | None


async def address_of(session: AsyncSession, secret_key: str, order_id: str) -> StoredAddress:
    row = await session.get(ShippingAddress, order_id)
    if row is None:
        return StoredAddress(None, None, None)
    address = unseal_address(secret_key, order_id, row.sealed) if row.sealed else None
    return StoredAddress(address, row.erased_at, row.erase_after)


async def erase_due_addresses(
    session: AsyncSession, erase_days: int, now: datetime | None = None
) -> int:
    """Erase the addresses whose time is up: delivered `erase_days` ago (the countdown set
    at delivery), or of orders that ended without shipping (expired, failed, cancelled,
    refunded) that long ago. Returns how many."""
    now = now or utcnow()
    delivered = await session.execute(
        update(ShippingAddress)
        .where(
            col(ShippingAddress.sealed).is_not(None),
            col(ShippingAddress.erase_after) <= now,
        )
        .values(sealed=None, erased_at=now)
        .execution_options(synchronize_session=False)
    )
    unpaid_orders = select(col(Order.id)).where(
        col(Order.status).in_(ENDED_UNSHIPPED),
        col(Order.updated_at) <= now - timedelta(days=erase_days),
    )
    unpaid = await session.execute(
        update(ShippingAddress)
        .where(
            col(ShippingAddress.sealed).is_not(None),
            col(ShippingAddress.order_id).in_(unpaid_orders),
        )
        .values(sealed=None, erased_at=now)
        .execution_options(synchronize_session=False)
    )
    erased = affected_rows(delivered) + affected_rows(unpaid)
    if erased:
        _LOGGER.info("shipping: %d addresses erased", erased)
    return erased
