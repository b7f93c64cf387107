"""Following an invoice answers with a typed outcome: moved, unchanged, ignored or retry."""

from __future__ import annotations

import dataclasses

from cloud.checkout import flow
from cloud.checkout.keys import CHECKOUT
from cloud.payments.outcomes import InvoiceOutcome, OutcomeKind


async def test_sync_reports_moved_then_unchanged_then_ignored(shop_without_webhook):
    shop = shop_without_webhook
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order(email="typed@example.com")
    await shop.pay(order_id, "pay", "confirm")
    ctx = shop.app[CHECKOUT]
    invoice_id = (await shop.order(order_id)).invoice_id
    invoice = await ctx.client.get_invoice(invoice_id)

    moved = await flow.sync_order_with_invoice(ctx, invoice)
    assert moved == InvoiceOutcome(OutcomeKind.MOVED, "paid")
    assert moved.moved_order and str(moved) == "paid"

    again = await flow.sync_order_with_invoice(ctx, invoice)
    assert (again.kind, again.status, str(again)) == (
        OutcomeKind.UNCHANGED,
        "paid",
        "unchanged: paid",
    )
    assert not again.moved_order

    elsewhere = dataclasses.replace(invoice, store_id="another-store")
    ignored = await flow.sync_order_with_invoice(ctx, elsewhere)
    assert (ignored.kind, ignored.reason) == (OutcomeKind.IGNORED, "another store")
    assert str(ignored) == "ignored: another store"
    assert (await shop.order(order_id)).status == "paid"


def test_retry_outcome_reads_as_before() -> None:
    outcome = InvoiceOutcome.retry("order busy")
    assert outcome.kind is OutcomeKind.RETRY and not outcome.moved_order
    assert str(outcome) == "retry: order busy"
