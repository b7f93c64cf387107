"""Orders meet BTCPay: open the one invoice of an order, and follow the invoice's status.

Nothing here holds a database transaction open across a network call. Every state change
is a compare-and-set on the order row, first in its transaction, so webhooks, the
reconciler and other replicas racing on one order apply each change exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from cloud.checkout import mails, service
from cloud.checkout.models import Order, OrderLine
from cloud.checkout.states import OrderStatus, can_move, order_status_for
from cloud.config import CloudSettings
from cloud.db import affected_rows, utcnow
from cloud.db_statements import async_run
from cloud.inventory.service import units_of_orders
from cloud.mail.outbox import async_queue_mail
from cloud.payments.greenfield import BtcpayError, GreenfieldClient, Invoice
from cloud.payments.keys import InvoiceHolding
from cloud.payments.outcomes import InvoiceOutcome

_LOGGER = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Built once, a Core statement on the table: it runs on every checkout, and building
# statements per call (and the ORM's handling of an entity UPDATE) was a large share of
# the checkout's CPU time.
_ORDERS: Table = Order.__table__  # type: ignore[attr-defined]
_HOLDER = select(_ORDERS.c.id, _ORDERS.c.status).where(
    _ORDERS.c.invoice_id == bindparam("b_invoice")
)
_RECORD_INVOICE = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("b_order"), _ORDERS.c.invoice_id.is_(None))
    .values(
        invoice_id=bindparam("b_invoice"),
        checkout_link=bindparam("b_link"),
        status=OrderStatus.AWAITING_PAYMENT,
        invoice_status=bindparam("b_status"),
        invoice_additional_status=bindparam("b_additional"),
        payment_problem=None,
        invoice_claimed_until=None,
        next_check_at=bindparam("b_next_check"),
        updated_at=bindparam("b_now"),
    )
)


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What following an invoice reads of an order: a plain row, not an ORM instance (the
    webhook's hot path; building and tracking an `Order` cost more than reading it)."""

    id: str
    status: str
    user_id: int | None
    email: str
    total: Decimal
    currency: str
    invoice_id: str | None
    erased_at: datetime | None


@dataclass(frozen=True, slots=True)
class LineFacts:
    """An order line as moving the order reads it (its stock effects and the buyer's mail)."""

    sku: str
    name: str
    unit_price: Decimal
    quantity: int


_LINES: Table = OrderLine.__table__  # type: ignore[attr-defined]
_ORDER_FIELDS = len(OrderFacts.__dataclass_fields__)
# The order and its lines in one statement: a row per line, the order's columns first (in
# `OrderFacts`' field order), then the line's (in `LineFacts`').
_ORDER_WITH_LINES = (
    select(
        *(_ORDERS.c[name] for name in OrderFacts.__dataclass_fields__),
        *(_LINES.c[name] for name in LineFacts.__dataclass_fields__),
    )
    .select_from(_ORDERS.outerjoin(_LINES, _LINES.c.order_id == _ORDERS.c.id))
    .where(_ORDERS.c.id == bindparam("b_order"))
    .order_by(_LINES.c.id)
)


async def _read_order(
    session: AsyncSession, order_id: str
) -> tuple[OrderFacts, list[LineFacts]] | None:
    rows = (await async_run(session, _ORDER_WITH_LINES, {"b_order": order_id})).rows
    if not rows:
        return None
    order = OrderFacts(*rows[0][:_ORDER_FIELDS])
    lines = [LineFacts(*row[_ORDER_FIELDS:]) for row in rows if row[_ORDER_FIELDS] is not None]
    return order, lines


@dataclass(frozen=True)
class CheckoutContext:
    """What order flows need from the running app."""

    db: async_sessionmaker[AsyncSession]
    client: GreenfieldClient
    settings: CloudSettings
    wake_mail: Callable[[], None]

    @property
    def check_interval(self) -> timedelta:
        return timedelta(seconds=self.settings.reconcile_interval_seconds)

    def order_link(self, order_id: str) -> str:
        return f"{self.settings.base_url}/orders/{order_id}"


async def load_order(ctx: CheckoutContext, order_id: str) -> Order | None:
    async with ctx.db() as session:
        return await session.get(Order, order_id)


async def open_invoice(ctx: CheckoutContext, order_id: str) -> Order | None:
    """Give an order its BTCPay invoice, once. A failure is recorded on the order for a retry."""
    now = utcnow()
    lease = invoice_claim_lease(ctx.settings)
    async with ctx.db() as session, session.begin():
        claimed = await session.execute(
            update(Order)
            .where(
                col(Order.id) == order_id,
                col(Order.invoice_id).is_(None),
                col(Order.status) == OrderStatus.AWAITING_INVOICE,
                or_(
                    col(Order.invoice_claimed_until).is_(None),
                    col(Order.invoice_claimed_until) < now,
                ),
            )
            .values(invoice_claimed_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        order = await session.get(Order, order_id)
    if order is None or affected_rows(claimed) != 1:
        return order
    await request_invoice(ctx, order)
    return await load_order(ctx, order.id)


def invoice_claim_lease(settings: CloudSettings) -> timedelta:
    return timedelta(seconds=settings.btcpay.timeout_seconds * 3)


async def create_invoice(ctx: CheckoutContext, order: service.PricedOrder) -> Invoice:
    """Have BTCPay create the order's invoice (its amount, currency and our settings)."""
    return await ctx.client.create_invoice(
        order.id,
        order.total,
        order.currency,
        ctx.order_link(order.id),
        ctx.settings.btcpay.speed_policy,
        ctx.settings.btcpay.invoice_expiry_minutes,
    )


async def request_invoice(
    ctx: CheckoutContext, order: service.PricedOrder, *, first: bool = False
) -> None:
    """Ask BTCPay for the invoice of an order this worker has claimed, and record it.

    `first`: the request that placed the order, right after its commit, so no invoice can
    exist yet. Any later attempt first looks for one by orderId: an earlier attempt may
    have had it created and then failed or died before recording it.
    """
    try:
        invoice = None if first else await _existing_invoice(ctx, order)
        if invoice is None:
            invoice = await create_invoice(ctx, order)
    except BtcpayError as err:
        _LOGGER.warning("order %s: no invoice yet: %s", order.id, err.message)
        async with ctx.db() as session, session.begin():
            await session.execute(
                update(Order)
                .where(col(Order.id) == order.id, col(Order.invoice_id).is_(None))
                .values(
                    payment_problem=err.message[:300],
                    invoice_claimed_until=None,
                    next_check_at=utcnow() + ctx.check_interval,
                )
                .execution_options(synchronize_session=False)
            )
        return
    now = utcnow()
    async with ctx.db() as session, session.begin():
        await async_run(
            session,
            _RECORD_INVOICE,
            {
                "b_order": order.id,
                "b_invoice": invoice.id,
                "b_link": invoice.checkout_link,
                "b_status": invoice.status,
                "b_additional": invoice.additional_status,
                "b_next_check": now + ctx.check_interval,
                "b_now": now,
            },
        )
    _LOGGER.info("order %s: invoice %s opened", order.id, invoice.id)
    if invoice.status != "New":
        await sync_order_with_invoice(ctx, invoice)


async def _existing_invoice(ctx: CheckoutContext, order: service.PricedOrder) -> Invoice | None:
    """An earlier attempt may have created the invoice before failing: adopt it."""
    for invoice in await ctx.client.find_invoices(order.id):
        if invoice.status == "New" and _matches(order, invoice):
            return invoice
    return None


def _matches(order: service.PricedOrder, invoice: Invoice) -> bool:
    return (
        invoice.order_id == order.id
        and invoice.amount == order.total
        and invoice.currency == order.currency.upper()
    )


async def invoice_holder(session: AsyncSession, invoice_id: str) -> InvoiceHolding | None:
    """The order that has recorded `invoice_id` as its invoice, if one has."""
    rows = (await async_run(session, _HOLDER, {"b_invoice": invoice_id})).rows
    return InvoiceHolding(str(rows[0][0]), str(rows[0][1])) if rows else None


async def sync_order_with_invoice(ctx: CheckoutContext, invoice: Invoice) -> InvoiceOutcome:
    """Move the invoice's order forward to what the invoice's status means, in a
    transaction of its own. Idempotent."""
    async with ctx.db() as session, session.begin():
        outcome = await apply_invoice(ctx, session, invoice)
    if outcome.moved_order:
        ctx.wake_mail()
    return outcome


async def apply_invoice(
    ctx: CheckoutContext, session: AsyncSession, invoice: Invoice
) -> InvoiceOutcome:
    """`sync_order_with_invoice` inside the caller's open transaction (the webhook's, which
    records the delivery in the same commit). The caller commits, then dispatches the mail
    this may queue (`cloud.mail.outbox.queued_mail`)."""
    if not invoice.order_id:
        return InvoiceOutcome.ignored("not an order invoice")
    if invoice.store_id and invoice.store_id != ctx.client.store_id:
        return InvoiceOutcome.ignored("another store")
    for _ in range(MAX_ATTEMPTS):
        # Each read sees what was committed since (PostgreSQL's READ COMMITTED): a mover
        # that lost the compare-and-set below decides again from the winner's status.
        found = await _read_order(session, invoice.order_id)
        if found is None:
            return InvoiceOutcome.ignored("unknown order")
        order, lines = found
        adopting = order.invoice_id is None and order.status == OrderStatus.AWAITING_INVOICE
        if order.invoice_id != invoice.id and not adopting:
            return InvoiceOutcome.ignored("not the order's invoice")
        if not _matches(order, invoice):
            _LOGGER.warning(
                "invoice %s does not match order %s (amount or currency): not applied",
                invoice.id,
                order.id,
            )
            return InvoiceOutcome.ignored("amount does not match the order")
        target = order_status_for(invoice.status, invoice.additional_status)
        if target is None:
            return InvoiceOutcome.ignored(f"unknown invoice status {invoice.status}")
        if not can_move(order.status, target):
            return InvoiceOutcome.unchanged(order.status)
        final = await _move(ctx, session, order, lines, target, invoice, adopting)
        if final is not None:
            return InvoiceOutcome.moved(final)
    return InvoiceOutcome.retry("order busy")


async def _move(
    ctx: CheckoutContext,
    session: AsyncSession,
    order: OrderFacts,
    lines: list[LineFacts],
    target: OrderStatus,
    invoice: Invoice,
    adopting: bool,
) -> OrderStatus | None:
    delay = service.next_check_after(target, ctx.check_interval)
    fields: dict[str, object] = {
        "invoice_status": invoice.status,
        "invoice_additional_status": invoice.additional_status,
        "next_check_at": utcnow() + delay if delay else None,
    }
    if adopting:
        fields.update(invoice_id=invoice.id, checkout_link=invoice.checkout_link)
    if target == OrderStatus.PAID:
        fields["paid_at"] = utcnow()
    if not await service.move_order(session, order, target, **fields):
        return None  # someone moved it first: re-read and decide again
    effects = await service.apply_effects(session, order, target, lines)
    final = effects.status
    await _queue_status_mail(
        ctx, session, order, final, invoice.additional_status, lines, effects.serials
    )
    _LOGGER.info("order %s: %s -> %s (invoice %s)", order.id, order.status, final, invoice.id)
    return final


async def _queue_status_mail(
    ctx: CheckoutContext,
    session: AsyncSession,
    order: Order | OrderFacts,
    status: OrderStatus,
    additional: str | None,
    lines: Sequence[service.LineRef] | None = None,
    serials: list[str] | None = None,
) -> None:
    """`lines`, `serials`: the order's lines and sold serials when this transaction has them."""
    if not mails.mails_buyer(status) or order.erased_at is not None:
        return  # an erased order's buyer asked us to forget their address
    if lines is None:
        lines = await service.order_lines(session, order.id)
    if status == OrderStatus.PAID and serials is None:
        serials = (await units_of_orders(session, [order.id])).get(order.id)
    elif status != OrderStatus.PAID:
        serials = None
    mail = mails.status_mail(
        status,
        ctx.order_link(order.id),
        f"{order.total} {order.currency}",
        [(line.name, line.quantity, f"{line.unit_price} {order.currency}") for line in lines],
        additional,
        serials,
    )
    if mail is not None:
        await async_queue_mail(session, order.email, *mail)


async def expire_order_without_invoice(ctx: CheckoutContext, order: Order) -> bool:
    """BTCPay stayed unreachable for the whole invoice lifetime: release the stock."""
    async with ctx.db() as session, session.begin():
        if not await service.move_order(session, order, OrderStatus.EXPIRED, next_check_at=None):
            return False
        await service.apply_effects(session, order, OrderStatus.EXPIRED)
        await _queue_status_mail(ctx, session, order, OrderStatus.EXPIRED, None)
    ctx.wake_mail()
    return True
