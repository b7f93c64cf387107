"""The reconciler: re-reads open invoices (and refunds' payouts) on a schedule, for
webhooks that never arrived.

Each pass claims due orders (SELECT … FOR UPDATE SKIP LOCKED, then an UPDATE that pushes
their next check into the future and re-checks they are still due), so replicas running
side by side never work on the same order at once, and a crash mid-pass only delays the
next look.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlmodel import col

from cloud.checkout import flow, refunds
from cloud.checkout.models import Order
from cloud.checkout.states import EXPIRED_STATUSES, WATCHED_STATUSES, OrderStatus
from cloud.db import utcnow
from cloud.payments.greenfield import BtcpayError
from cloud.payments.timeline import reconciler_read

_LOGGER = logging.getLogger(__name__)

BATCH = 50
# Invoices re-read at once within a pass (each holds a database connection while it works).
CONCURRENT_READS = 4
# While a replica works on an order, others leave it alone for this long.
CLAIM_LEASE = timedelta(minutes=2)
# Expired invoices are watched this long for late payments (BTCPay's default monitoring).
MONITORING = timedelta(minutes=1440)


async def claim_due_orders(ctx: flow.CheckoutContext, limit: int = BATCH) -> list[str]:
    """Lock due orders (skipping rows another replica holds) and push their next check out;
    the UPDATE re-checks that each is still due, so only one replica gets each order."""
    now = utcnow()
    async with ctx.db() as session, session.begin():
        due = list(
            await session.scalars(
                select(col(Order.id))
                .where(
                    col(Order.next_check_at).is_not(None),
                    col(Order.next_check_at) <= now,
                    col(Order.status).in_([*WATCHED_STATUSES, OrderStatus.AWAITING_INVOICE]),
                )
                .order_by(col(Order.next_check_at))
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not due:
            return []
        result = await session.execute(
            update(Order)
            .where(col(Order.id).in_(due), col(Order.next_check_at) <= now)
            .values(next_check_at=now + CLAIM_LEASE)
            .returning(col(Order.id))
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars())


async def reconcile_once(ctx: flow.CheckoutContext, limit: int = BATCH) -> int:
    """One batch of due orders (at most `limit`); returns how many changed status."""
    return await _reconcile_claimed(ctx, await claim_due_orders(ctx, limit))


async def reconcile_due(ctx: flow.CheckoutContext, batch: int = BATCH) -> int:
    """Every order due now, batch after batch, so each is re-read once an interval however
    many are open (one batch a pass left the rest waiting interval after interval);
    returns how many orders changed status."""
    changed = 0
    while True:
        claimed = await claim_due_orders(ctx, batch)
        changed += await _reconcile_claimed(ctx, claimed)
        if len(claimed) < batch:
            return changed


async def _reconcile_claimed(ctx: flow.CheckoutContext, order_ids: list[str]) -> int:
    """Re-read the claimed orders' invoices a few at a time: one after the other, a pass
    over many open orders took longer than the interval it is meant to keep."""
    gate = asyncio.Semaphore(CONCURRENT_READS)

    async def one(order_id: str) -> int:
        async with gate:
            order = await flow.load_order(ctx, order_id)
            if order is None:
                return 0
            try:
                return await _reconcile(ctx, order)
            except BtcpayError as err:
                _LOGGER.warning("reconciler: order %s not checked: %s", order.id, err.message)
                return 0

    return sum(await asyncio.gather(*(one(order_id) for order_id in order_ids)))


async def _reconcile(ctx: flow.CheckoutContext, order: Order) -> int:
    now = utcnow()
    if order.status == OrderStatus.AWAITING_INVOICE:
        if order.created_at + timedelta(minutes=ctx.settings.btcpay.invoice_expiry_minutes) < now:
            return int(await flow.expire_order_without_invoice(ctx, order))
        refreshed = await flow.open_invoice(ctx, order.id)
        return int(refreshed is not None and refreshed.status != order.status)
    assert order.invoice_id is not None
    invoice = await ctx.client.get_invoice(order.invoice_id)
    if invoice is None:
        _LOGGER.warning("reconciler: invoice %s of order %s is gone", order.invoice_id, order.id)
        return 0
    outcome = await flow.sync_order_with_invoice(ctx, invoice)
    async with ctx.db() as session, session.begin():
        session.add(reconciler_read(order.id, invoice, outcome))  # the invoice's timeline
    if not outcome.moved_order:
        await _schedule_next(ctx, order)
    return int(outcome.moved_order)


async def _schedule_next(ctx: flow.CheckoutContext, order: Order) -> None:
    """Unchanged: look again later, or stop once an expired invoice is past monitoring."""
    interval = ctx.check_interval
    expired = order.status in EXPIRED_STATUSES
    if expired and utcnow() - order.updated_at > MONITORING:
        next_check = None
    else:
        next_check = utcnow() + (interval * 10 if expired else interval)
    async with ctx.db() as session, session.begin():
        await session.execute(
            update(Order)
            .where(col(Order.id) == order.id, col(Order.status) == order.status)
            .values(next_check_at=next_check)
            .execution_options(synchronize_session=False)
        )


async def async_run_reconciler(ctx: flow.CheckoutContext, batch: int = BATCH) -> None:
    """Background task: a pass every interval, forever; errors are logged, never fatal."""
    while True:
        try:
            changed = await reconcile_due(ctx, batch)
            if changed:
                _LOGGER.info("reconciler moved %d orders", changed)
            followed = await refunds.follow_open_refunds(ctx)
            if followed:
                _LOGGER.info("reconciler moved %d refunds", followed)
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("reconciler pass failed; retrying next interval")
        await asyncio.sleep(ctx.settings.reconcile_interval_seconds)
