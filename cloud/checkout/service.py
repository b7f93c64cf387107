"""Order operations: place an order from a cart, and move it with its invoice.

Operations take an open `AsyncSession` (the caller's transaction) except the ones that
talk to BTCPay, which take the session factory: they never hold a transaction open while
waiting on the network.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

from sqlalchemy import Table, Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.catalog.loader import Catalog
from cloud.checkout.models import Order, OrderLine
from cloud.checkout.states import (
    EXPIRED_STATUSES,
    OPEN_STATUSES,
    RELEASING_STATUSES,
    OrderStatus,
)
from cloud.db import affected_rows, insert_values, row_values, utcnow
from cloud.db_statements import async_run, insert_into
from cloud.domain import Refusal, RefusedError
from cloud.inventory import service as inventory

_LOGGER = logging.getLogger(__name__)

EMPTY_CART = Refusal("empty_cart", "Your cart is empty: add a device first.", 409)
MIXED_CURRENCIES = Refusal("mixed_currencies", "One order can only use one currency.", 409)
ORDER_ID_BYTES = 16
_ORDERS: Table = Order.__table__  # type: ignore[attr-defined]
_LINES: Table = OrderLine.__table__  # type: ignore[attr-defined]
_ORDER_LINES = (
    select(OrderLine)
    .where(col(OrderLine.order_id) == bindparam("b_order"))
    .order_by(col(OrderLine.id))
)


def new_order_id() -> str:
    return secrets.token_urlsafe(ORDER_ID_BYTES)[:22]


@dataclass(frozen=True)
class PricedLine:
    sku: str
    name: str
    unit_price: Decimal
    quantity: int
    currency: str

    @property
    def subtotal(self) -> Decimal:
        return self.unit_price * self.quantity


def price_cart(catalog: Catalog, cart: Mapping[str, int]) -> list[PricedLine]:
    """Catalog prices for the cart's lines; unknown SKUs are dropped."""
    lines = []
    for sku, quantity in sorted(cart.items()):
        product = catalog.get(sku)
        if product is not None and quantity > 0:
            lines.append(PricedLine(sku, product.name, product.price, quantity, product.currency))
    return lines


# Free units of a SKU, as some source counts them (the database, or the product pages'
# counts for pages that only warn).
UnitsAvailable = Callable[[str], Awaitable[int]]


async def stock_shortfalls(available: UnitsAvailable, lines: list[PricedLine]) -> dict[str, int]:
    """SKU → units available, for each line asking for more than is in stock."""
    short = {}
    for line in lines:
        left = await available(line.sku)
        if left < line.quantity:
            short[line.sku] = left
    return short


def out_of_stock_refusal(lines: list[PricedLine], short: Mapping[str, int]) -> Refusal:
    names = {line.sku: line.name for line in lines}
    wanted = {line.sku: line.quantity for line in lines}
    parts = []
    for sku, left in short.items():
        if left >= wanted.get(sku, 0):  # free, but held by a checkout in flight
            parts.append(f"{names.get(sku, sku)}: another buyer is checking out the last units")
        else:
            parts.append(f"{names.get(sku, sku)}: {'none' if left == 0 else f'only {left}'} left")
    return Refusal("out_of_stock", "Not enough stock. " + "; ".join(parts) + ".", 409)


async def can_place_order(available: UnitsAvailable, lines: list[PricedLine]) -> Refusal | None:
    """Why placing these lines would be refused now (`place_order` checks stock again)."""
    if not lines:
        return EMPTY_CART
    if len({line.currency for line in lines}) > 1:
        return MIXED_CURRENCIES
    short = await stock_shortfalls(available, lines)
    return out_of_stock_refusal(lines, short) if short else None


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """A just-placed order, as its first invoice request reads it (a plain record: building
    an ORM `Order` for it cost more than its INSERT)."""

    id: str
    total: Decimal
    currency: str


class PricedOrder(Protocol):
    """What asking BTCPay for an order's invoice reads of it: an `Order`, a `PlacedOrder`
    or `flow.OrderFacts`."""

    @property
    def id(self) -> str: ...

    @property
    def total(self) -> Decimal: ...

    @property
    def currency(self) -> str: ...


async def place_order(
    session: AsyncSession,
    lines: list[PricedLine],
    user_id: int | None,
    email: str,
    claim_lease: timedelta = timedelta(seconds=30),
) -> PlacedOrder:
    """Create the order and reserve its units; refuses (rolling back) if stock runs short.

    The order is created claimed for its first invoice request (see flow.request_invoice).
    """
    if not lines:
        raise RefusedError(EMPTY_CART)
    if len({line.currency for line in lines}) > 1:
        raise RefusedError(MIXED_CURRENCIES)
    now = utcnow()
    order = PlacedOrder(
        new_order_id(), sum((line.subtotal for line in lines), Decimal(0)), lines[0].currency
    )
    row = row_values(
        Order,
        id=order.id,
        user_id=user_id,
        email=email,
        status=OrderStatus.AWAITING_INVOICE,
        total=order.total,
        currency=order.currency,
        # The placing request asks BTCPay for the invoice right after commit.
        invoice_claimed_until=now + claim_lease,
        # Should that request die half-way, the reconciler takes over once the claim lapses.
        next_check_at=now + claim_lease,
        created_at=now,
        updated_at=now,
    )
    await insert_values(session, Order, row)
    await async_run(
        session,
        insert_into(_LINES),
        [
            {
                "order_id": order.id,
                "sku": line.sku,
                "name": line.name,
                "unit_price": line.unit_price,
                "quantity": line.quantity,
            }
            for line in lines
        ],
    )
    short: dict[str, int] = {}
    for line in lines:
        got = await inventory.reserve_units(session, order.id, line.sku, line.quantity)
        if got < line.quantity:  # another buyer took them since the check above
            short[line.sku] = got
    if short:
        # Report what is really left (this order's partial holds roll back with it).
        for sku, got in short.items():
            short[sku] = got + await inventory.available_count(session, sku)
        raise RefusedError(out_of_stock_refusal(lines, short))
    _LOGGER.info("order %s placed: %s %s", order.id, order.total, order.currency)
    return order


async def order_lines(session: AsyncSession, order_id: str) -> list[OrderLine]:
    return list(await session.scalars(_ORDER_LINES, {"b_order": order_id}))


async def orders_of(session: AsyncSession, user_id: int) -> list[Order]:
    return list(
        await session.scalars(
            select(Order)
            .where(col(Order.user_id) == user_id)
            .order_by(col(Order.created_at).desc())
        )
    )


async def attach_guest_orders(session: AsyncSession, user_id: int, email: str) -> int:
    """Give a newly confirmed account the guest orders (and devices) bought with its email."""
    result = await session.execute(
        update(Order)
        .where(col(Order.email) == email, col(Order.user_id).is_(None))
        .values(user_id=user_id)
        .execution_options(synchronize_session=False)
    )
    await inventory.attach_guest_ownerships(session, user_id, email)
    if affected_rows(result):
        _LOGGER.info("account %s: %d guest orders attached", user_id, affected_rows(result))
    return affected_rows(result)


class OrderRef(Protocol):
    """What moving an order and its stock effects read of it: an `Order`, or a plain row of
    its columns (`flow.OrderFacts`, on the webhook's hot path)."""

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def user_id(self) -> int | None: ...

    @property
    def email(self) -> str: ...


class LineRef(Protocol):
    """What stock effects and mails read of an order line: an `OrderLine`, or a plain row
    (`flow.LineFacts`)."""

    @property
    def sku(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def unit_price(self) -> Decimal: ...

    @property
    def quantity(self) -> int: ...


async def move_order(
    session: AsyncSession, order: OrderRef, target: OrderStatus, **fields: object
) -> bool:
    """Compare-and-set the status: concurrent movers of the same order serialise on its row
    (PostgreSQL: the UPDATE waits for the other's commit and re-checks the status then;
    SQLite: one writer at a time) and only one of them wins."""
    values = {f"b_set_{name}": value for name, value in fields.items()}
    result = await async_run(
        session,
        _move_statement(tuple(sorted(fields))),
        {"b_id": order.id, "b_from": order.status, "b_to": target, "b_now": utcnow(), **values},
    )
    return result.rowcount == 1


@functools.lru_cache(maxsize=64)
def _move_statement(fields: tuple[str, ...]) -> Update:
    """The compare-and-set UPDATE that also sets `fields`, built once per set of fields (a
    Core statement on the table: built per call, with the ORM's handling of an entity
    UPDATE, it cost more CPU than running it)."""
    return (
        update(_ORDERS)
        .where(_ORDERS.c.id == bindparam("b_id"), _ORDERS.c.status == bindparam("b_from"))
        .values(
            status=bindparam("b_to"),
            updated_at=bindparam("b_now"),
            **{name: bindparam(f"b_set_{name}") for name in fields},
        )
    )


@dataclass(frozen=True)
class Effects:
    """What entering a status did: the status the order really ends in, and for a paid
    order the serials it was sold (its mail lists them)."""

    status: OrderStatus
    serials: list[str] | None = None


async def apply_effects(
    session: AsyncSession,
    order: OrderRef,
    target: OrderStatus,
    lines: Sequence[LineRef] | None = None,
) -> Effects:
    """Stock effects of entering `target`.

    `lines`: the order's lines when the caller has read them already in this transaction.
    """
    if target == OrderStatus.PAID:
        lines = await order_lines(session, order.id) if lines is None else lines
        quantities: dict[str, int] = {}
        for line in lines:
            quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
        serials = await inventory.allocate_units_for_settled_order(
            session, order.id, quantities, order.user_id, order.email
        )
        if serials is None:
            await session.execute(
                update(Order)
                .where(col(Order.id) == order.id)
                .values(status=OrderStatus.BACKORDER)
                .execution_options(synchronize_session=False)
            )
            _LOGGER.warning("order %s settled without stock: backorder", order.id)
            return Effects(OrderStatus.BACKORDER)
        return Effects(target, serials)
    if target in RELEASING_STATUSES:
        await inventory.release_units(session, order.id)
    elif target == OrderStatus.CONFIRMING:
        # Paid before expiry: make sure its units are still held for it.
        for line in await order_lines(session, order.id) if lines is None else lines:
            held = len(await inventory.held_units(session, order.id, line.sku))
            if held < line.quantity:
                await inventory.reserve_units(session, order.id, line.sku, line.quantity - held)
    return Effects(target)


def next_check_after(status: OrderStatus, interval: timedelta) -> timedelta | None:
    """How long until the reconciler looks at the order again (None: no more)."""
    if status in OPEN_STATUSES:
        return interval
    if status in EXPIRED_STATUSES:  # still watched for late payments and marking
        return interval * 10
    return None
