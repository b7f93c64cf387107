"""Wires the checkout area: pages, JSON API, the invoice listener and the reconciler."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.accounts.keys import ACCOUNT_HOOKS, PERSONAL_DATA
from cloud.checkout import api as checkout_api
from cloud.checkout import flow, reconciler, refund_console, refunds, routes, service
from cloud.checkout.keys import CHECKOUT
from cloud.checkout.personal_data import ORDERS_HOLDER, follow_email_change
from cloud.checkout.refund_personal_data import REFUNDS_HOLDER
from cloud.ops.const import JOB_RECONCILER
from cloud.ops.keys import JOBS
from cloud.payments.greenfield import Invoice
from cloud.payments.keys import GREENFIELD, INVOICE_HOLDER, INVOICE_LISTENER, PAYOUT_LISTENER
from cloud.payments.outcomes import InvoiceOutcome
from cloud.web.keys import API, DB, MAIL, SETTINGS


async def _checkout_ctx(app: web.Application) -> AsyncIterator[None]:
    """The checkout context, the invoice listener payments calls, and the reconciler task."""
    context = app[CHECKOUT] = flow.CheckoutContext(
        app[DB], app[GREENFIELD], app[SETTINGS], app[MAIL].wake
    )

    async def listener(session: AsyncSession, invoice: Invoice) -> InvoiceOutcome:
        return await flow.apply_invoice(context, session, invoice)

    async def payout_listener(pull_payment_id: str, payout_id: str) -> InvoiceOutcome:
        return await refunds.follow_payout(context, pull_payment_id, payout_id)

    app[INVOICE_LISTENER] = listener
    app[INVOICE_HOLDER] = flow.invoice_holder
    app[PAYOUT_LISTENER] = payout_listener
    # One replica reconciles at a time (its lease moves when that replica dies).
    app[JOBS].add(JOB_RECONCILER, lambda: reconciler.async_run_reconciler(context))
    yield
    await app[JOBS].async_stop(JOB_RECONCILER)


def setup(app: web.Application) -> None:
    # A confirmed account gets the guest orders (and devices) bought with its address.
    app[ACCOUNT_HOOKS].on_confirmed(service.attach_guest_orders)
    app[PERSONAL_DATA].register(ORDERS_HOLDER)
    app[ACCOUNT_HOOKS].on_email_changed(follow_email_change)
    app[PERSONAL_DATA].register(REFUNDS_HOLDER)
    app.cleanup_ctx.append(_checkout_ctx)
    routes.add_page_routes(app)
    refund_console.add_routes(app)
    app[API].include(checkout_api.ROUTES)
