"""Typed application keys of the payments area."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.payments.greenfield import GreenfieldClient, Invoice
from cloud.payments.outcomes import InvoiceOutcome


@dataclass
class WebhookSecret:
    """The secret BTCPay signs deliveries with: configured, or learnt when we create the hook."""

    value: str | None = None


# Applies an invoice, as BTCPay has it now, to its order inside the caller's open
# transaction (the webhook's, which records the delivery in the same commit). It never
# commits; mail it queues is the caller's to dispatch once that commit is done.
InvoiceListener = Callable[[AsyncSession, Invoice], Awaitable[InvoiceOutcome]]


@dataclass(frozen=True)
class InvoiceHolding:
    """The order that has recorded an invoice as its own, and that order's status."""

    order_id: str
    status: str


# The order that already holds the invoice named (None: no order holds it yet), read in
# the caller's session: an InvoiceCreated for such an invoice tells nothing new.
InvoiceHolder = Callable[[AsyncSession, str], Awaitable[InvoiceHolding | None]]
# Told the pull payment and payout a payout webhook names (the body is not trusted further).
PayoutListener = Callable[[str, str], Awaitable[InvoiceOutcome]]

GREENFIELD: web.AppKey[GreenfieldClient] = web.AppKey("greenfield", GreenfieldClient)
WEBHOOK_SECRET: web.AppKey[WebhookSecret] = web.AppKey("btcpay_webhook_secret", WebhookSecret)
INVOICE_LISTENER: web.AppKey[InvoiceListener] = web.AppKey("invoice_listener")
INVOICE_HOLDER: web.AppKey[InvoiceHolder] = web.AppKey("invoice_holder")
PAYOUT_LISTENER: web.AppKey[PayoutListener] = web.AppKey("payout_listener")
