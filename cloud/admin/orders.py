"""Finding orders for operators: filters (status, dates, product), search (order id, email,
serial), keyset pages newest first, the CSV rows, and one order's full picture.

Keyset paging on (created_at, id) keeps every page as cheap as the first; the indexes that
serve it come with the 0007 migration (see benchmarks/admin_order_list.py).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.models import User
from cloud.checkout.models import Order, OrderLine
from cloud.checkout.states import OrderStatus
from cloud.domain import InputErrors
from cloud.inventory.models import Ownership, StockUnit
from cloud.payments.models import InvoiceEvent, WebhookReceipt
from cloud.payments.timeline import order_timeline

PAGE_SIZE = 50
EXPORT_BATCH = 500
_MAX_QUERY = 254


@dataclass(frozen=True)
class OrderFilter:
    status: str | None = None
    placed_from: date | None = None  # inclusive, UTC days
    placed_to: date | None = None  # inclusive
    sku: str | None = None
    search: str | None = None

    def query_params(self) -> dict[str, str]:
        params = {
            "status": self.status or "",
            "from": self.placed_from.isoformat() if self.placed_from else "",
            "to": self.placed_to.isoformat() if self.placed_to else "",
            "product": self.sku or "",
            "q": self.search or "",
        }
        return {key: value for key, value in params.items() if value}


def _date(value: str, name: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "Give a date as YYYY-MM-DD."
        return None


def parse_filter(params: Any, known_skus: set[str]) -> OrderFilter:
    """The filter from a query string; InputErrors (422) names each unusable field."""
    errors: dict[str, str] = {}
    status = str(params.get("status", "")).strip()
    if status and status not in {s.value for s in OrderStatus}:
        errors["status"] = "There is no such order status."
    sku = str(params.get("product", "")).strip()
    if sku and sku not in known_skus:
        errors["product"] = "There is no such product."
    placed_from = _date(str(params.get("from", "")).strip(), "from", errors)
    placed_to = _date(str(params.get("to", "")).strip(), "to", errors)
    if placed_from and placed_to and placed_from > placed_to:
        errors["to"] = "The end date is before the start date."
    search = str(params.get("q", "")).strip()
    if len(search) > _MAX_QUERY:
        errors["q"] = f"Search for at most {_MAX_QUERY} characters."
    if errors:
        raise InputErrors(errors)
    return OrderFilter(
        status=status or None,
        placed_from=placed_from,
        placed_to=placed_to,
        sku=sku or None,
        search=search or None,
    )


def _conditions(where: OrderFilter) -> list[Any]:
    conditions: list[Any] = []
    if where.status:
        conditions.append(col(Order.status) == where.status)
    if where.placed_from:
        conditions.append(col(Order.created_at) >= datetime.combine(where.placed_from, time(), UTC))
    if where.placed_to:
        end = datetime.combine(where.placed_to + timedelta(days=1), time(), UTC)
        conditions.append(col(Order.created_at) < end)
    if where.sku:
        conditions.append(
            exists().where(
                col(OrderLine.order_id) == col(Order.id), col(OrderLine.sku) == where.sku
            )
        )
    if where.search:
        # One small set of ids from three indexed lookups (a UNION), not an OR that would
        # make the database test every order in date order until the page fills.
        text = where.search
        matches: Any = union(
            select(col(Order.id)).where(col(Order.id) == text),
            select(col(Order.id)).where(col(Order.email) == text.lower()),
            select(col(StockUnit.order_id)).where(
                col(StockUnit.serial) == text.upper(), col(StockUnit.order_id).is_not(None)
            ),
        )
        conditions.append(col(Order.id).in_(select(matches.subquery().c[0])))
    return conditions


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last order's placing time and id."""

    created_at: datetime
    order_id: str

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.order_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            when, _, order_id = raw.partition("|")
            created_at = datetime.fromisoformat(when)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InputErrors({"after": "That page link is broken; start again."}) from None
        if created_at.tzinfo is None or not order_id or len(order_id) > 32:
            raise InputErrors({"after": "That page link is broken; start again."})
        return cls(created_at.astimezone(UTC), order_id)


@dataclass
class OrderPage:
    orders: list[Order]
    lines: dict[str, list[OrderLine]] = field(default_factory=dict)
    next_cursor: str | None = None


def page_query(where: OrderFilter, after: Cursor | None, limit: int) -> Any:
    """The SELECT of one page (public for the benchmark, which EXPLAINs it)."""
    query = select(Order).where(*_conditions(where))
    if after is not None:
        query = query.where(
            or_(
                col(Order.created_at) < after.created_at,
                and_(col(Order.created_at) == after.created_at, col(Order.id) < after.order_id),
            )
        )
    return query.order_by(col(Order.created_at).desc(), col(Order.id).desc()).limit(limit)


async def _lines_of(session: AsyncSession, order_ids: Sequence[str]) -> dict[str, list[OrderLine]]:
    lines: dict[str, list[OrderLine]] = {order_id: [] for order_id in order_ids}
    if order_ids:
        rows = await session.scalars(
            select(OrderLine)
            .where(col(OrderLine.order_id).in_(order_ids))
            .order_by(col(OrderLine.id))
        )
        for line in rows:
            lines[line.order_id].append(line)
    return lines


async def find_orders(
    session: AsyncSession, where: OrderFilter, after: Cursor | None = None, limit: int = PAGE_SIZE
) -> OrderPage:
    """One page of matching orders, newest first, with their lines and the next page's cursor."""
    orders = list((await session.scalars(page_query(where, after, limit + 1))).all())
    more = len(orders) > limit
    orders = orders[:limit]
    page = OrderPage(orders, await _lines_of(session, [o.id for o in orders]))
    if more:
        page.next_cursor = Cursor(orders[-1].created_at, orders[-1].id).encode()
    return page


async def iterate_orders(
    session: AsyncSession, where: OrderFilter, batch: int = EXPORT_BATCH
) -> AsyncIterator[tuple[Order, list[OrderLine]]]:
    """Every matching order, newest first, read in keyset batches (for the CSV export)."""
    after: Cursor | None = None
    while True:
        orders = list((await session.scalars(page_query(where, after, batch))).all())
        if not orders:
            return
        lines = await _lines_of(session, [o.id for o in orders])
        for order in orders:
            yield order, lines[order.id]
        if len(orders) < batch:
            return
        after = Cursor(orders[-1].created_at, orders[-1].id)


@dataclass(frozen=True)
class UnitOwnership:
    serial: str
    sku: str
    sold_at: datetime | None
    owner_email: str | None
    owner_account: str | None  # the account's email when the owner has one
    owned_since: datetime | None


@dataclass
class OrderDetail:
    order: Order
    lines: list[OrderLine]
    units: list[UnitOwnership]
    timeline: Sequence[InvoiceEvent]
    deliveries: list[WebhookReceipt]
    account_email: str | None

    @property
    def lines_total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0"))


async def order_detail(session: AsyncSession, order_id: str) -> OrderDetail | None:
    order = await session.get(Order, order_id)
    if order is None:
        return None
    lines = (await _lines_of(session, [order.id]))[order.id]
    rows = await session.execute(
        select(StockUnit, Ownership, User)
        .outerjoin(Ownership, col(Ownership.unit_id) == col(StockUnit.id))
        .outerjoin(User, col(User.id) == col(Ownership.user_id))
        .where(col(StockUnit.order_id) == order.id)
        .order_by(col(StockUnit.serial))
    )
    units = [
        UnitOwnership(
            serial=unit.serial,
            sku=unit.sku,
            sold_at=unit.sold_at,
            owner_email=owner.email if owner else None,
            owner_account=user.email if user else None,
            owned_since=owner.created_at if owner else None,
        )
        for unit, owner, user in rows.all()
    ]
    deliveries: list[WebhookReceipt] = []
    if order.invoice_id:
        deliveries = list(
            (
                await session.scalars(
                    select(WebhookReceipt)
                    .where(col(WebhookReceipt.invoice_id) == order.invoice_id)
                    .order_by(col(WebhookReceipt.id))
                )
            ).all()
        )
    account = await session.get(User, order.user_id) if order.user_id else None
    return OrderDetail(
        order=order,
        lines=lines,
        units=units,
        timeline=await order_timeline(session, order.id, order.invoice_id),
        deliveries=deliveries,
        account_email=account.email if account else None,
    )
