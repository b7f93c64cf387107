"""Payout deliveries (PayoutCreated, PayoutApproved, PayoutUpdated) of our refunds.

Verified and de-duplicated by `webhook` like invoice deliveries; the body only names a
pull payment and a payout, whose current state the listener re-reads from BTCPay.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from cloud.payments.const import PAYOUT_EVENTS
from cloud.payments.keys import PAYOUT_LISTENER
from cloud.payments.models import ProcessedDelivery
from cloud.payments.outcomes import InvoiceOutcome, OutcomeKind
from cloud.web.keys import DB

__all__ = ["PAYOUT_EVENTS", "payout_event"]

_LOGGER = logging.getLogger(__name__)


async def payout_event(
    request: web.Request, delivery_id: str, event_type: str, event: dict[str, Any]
) -> web.Response:
    payout_id = event.get("payoutId")
    pull_payment_id = event.get("pullPaymentId")
    listener = request.app.get(PAYOUT_LISTENER)
    if not isinstance(payout_id, str) or not isinstance(pull_payment_id, str):
        outcome = InvoiceOutcome.ignored("not a pull payment's payout")
    elif listener is None:
        outcome = InvoiceOutcome.ignored("nobody follows payouts")
    else:
        outcome = await listener(pull_payment_id, payout_id)
    if outcome.kind is OutcomeKind.RETRY:
        # BTCPay could not be asked, or the refund was busy: BTCPay retries 5xx.
        raise web.HTTPServiceUnavailable(text=f"Cannot follow the payout now: {outcome.reason}")
    try:
        async with request.app[DB]() as session, session.begin():
            session.add(ProcessedDelivery(delivery_id=delivery_id, event_type=event_type))
    except IntegrityError:
        pass  # the same delivery was processed concurrently; the outcome is the same
    _LOGGER.info("webhook %s %s for payout %s: %s", delivery_id, event_type, payout_id, outcome)
    return web.json_response({"status": str(outcome)})
