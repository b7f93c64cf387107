"""`POST /webhooks/btcpay`: verify, de-duplicate, then act on the invoice as BTCPay has it.

The body is never trusted beyond naming an invoice: the invoice is re-fetched and its
current status decides. An InvoiceCreated naming the invoice its order already holds is the
exception: it cannot move the order, so BTCPay is not asked. What a delivery does (the
order's move, its stock and mail) and what records it (the processed delivery, the timeline
row, the receipt) commit together.
Answers follow BTCPay's retry rules: 4xx for deliveries that must not be retried (bad
signature, malformed body), 5xx only when a retry can help.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import IntegrityError

from cloud.db import insert_values, row_values
from cloud.db_statements import async_run
from cloud.payments.const import INVOICE_CREATED, INVOICE_EVENTS, SIGNATURE_HEADER
from cloud.payments.greenfield import BtcpayError, Invoice
from cloud.payments.keys import (
    GREENFIELD,
    INVOICE_HOLDER,
    INVOICE_LISTENER,
    WEBHOOK_SECRET,
    InvoiceHolding,
)
from cloud.payments.models import InvoiceEvent, ProcessedDelivery, WebhookReceipt
from cloud.payments.outcomes import InvoiceOutcome, OutcomeKind
from cloud.payments.payout_webhook import PAYOUT_EVENTS, payout_event
from cloud.payments.signature import signature_matches
from cloud.payments.timeline import webhook_event
from cloud.payments.webhook_log import RECEIPT_WRITTEN, logs_deliveries, receipt_values
from cloud.web.forms import transaction
from cloud.web.keys import DB
from cloud.web.middleware import answers_no_page, csrf_exempt

_LOGGER = logging.getLogger(__name__)

_DELIVERIES: Table = ProcessedDelivery.__table__  # type: ignore[attr-defined]
# Whether a delivery was processed: a Core statement built once (every delivery asks).
_PROCESSED = select(_DELIVERIES.c.delivery_id).where(
    _DELIVERIES.c.delivery_id == bindparam("b_delivery")
)


def _answer(status: str, code: int = 200) -> web.Response:
    return web.json_response({"status": status}, status=code)


@answers_no_page
@csrf_exempt
@logs_deliveries  # every delivery, verified or not, lands in the webhook log
async def btcpay_webhook(request: web.Request) -> web.Response:
    body = await request.read()
    secret = request.app[WEBHOOK_SECRET].value
    if not secret:
        # Our webhook is still being registered: BTCPay retries 5xx later.
        raise web.HTTPServiceUnavailable(text="The store is not ready for webhooks yet.")
    if not signature_matches(secret, body, request.headers.get(SIGNATURE_HEADER)):
        _LOGGER.warning("webhook refused: bad or missing %s", SIGNATURE_HEADER)
        raise web.HTTPUnauthorized(text=f"Missing or wrong {SIGNATURE_HEADER} signature.")
    try:
        event = json.loads(body)
        delivery_id = str(event.get("originalDeliveryId") or event["deliveryId"])[:64]
        event_type = str(event.get("type", ""))[:48]
        invoice_id = event.get("invoiceId")
    except (ValueError, KeyError, AttributeError, TypeError):
        raise web.HTTPBadRequest(text="The webhook body is not a BTCPay event.") from None
    created = invoice_id if event_type == INVOICE_CREATED and isinstance(invoice_id, str) else None
    async with request.app[DB]() as session:
        if (await async_run(session, _PROCESSED, {"b_delivery": delivery_id})).rows:
            return _answer("duplicate")
        # The order already has this invoice: an InvoiceCreated has nothing to tell it, and
        # BTCPay is not asked again (every checkout would cost it two calls). The events that
        # follow, or the reconciler, carry any later change.
        held = await request.app[INVOICE_HOLDER](session, created) if created else None
    if event_type in PAYOUT_EVENTS:
        return await payout_event(request, delivery_id, event_type, event)
    if event_type not in INVOICE_EVENTS or not isinstance(invoice_id, str):
        return _answer(str(InvoiceOutcome.ignored("not an invoice event")))
    invoice: Invoice | None = None
    if held is None:
        try:
            invoice = await request.app[GREENFIELD].get_invoice(invoice_id)
        except BtcpayError as err:
            raise web.HTTPServiceUnavailable(
                text=f"Cannot check the invoice: {err.message}"
            ) from err
    try:
        outcome = await _act_and_record(
            request, body, event, delivery_id, event_type, invoice_id, invoice, held
        )
    except _DuplicateDelivery:
        # Another request (another replica) acted on this delivery meanwhile.
        return _answer("duplicate")
    except _OrderBusy:
        raise web.HTTPServiceUnavailable(text="The order is busy; retry.") from None
    request[RECEIPT_WRITTEN] = True
    _LOGGER.info("webhook %s %s for invoice %s: %s", delivery_id, event_type, invoice_id, outcome)
    return _answer(str(outcome))


class _DuplicateDelivery(Exception):
    """The delivery's row exists: its transaction is rolled back, nothing was done twice."""


class _OrderBusy(Exception):
    """The order kept changing under us: roll back (the delivery stays unprocessed)."""


async def _act_and_record(
    request: web.Request,
    body: bytes,
    event: dict[str, Any],
    delivery_id: str,
    event_type: str,
    invoice_id: str,
    invoice: Invoice | None,
    held: InvoiceHolding | None,
) -> InvoiceOutcome:
    """Act on the invoice and record it in one transaction: the processed delivery, what the
    listener did to the order (stock, mail), the timeline row and the receipt, one commit.

    `invoice`: the invoice as BTCPay has it (None: BTCPay does not know it, or was not
    asked); `held`: the order already holding it, for an InvoiceCreated (nothing to act on).

    The delivery's row goes first: its primary key decides a duplicate delivered
    concurrently (to another replica too). On PostgreSQL the second INSERT waits for the
    first transaction, then fails if it committed, before the second has touched the order.
    """
    # Mail the listener queues is dispatched once this commits.
    async with transaction(request.app) as session:
        try:
            await insert_values(
                session,
                ProcessedDelivery,
                row_values(
                    ProcessedDelivery,
                    delivery_id=delivery_id,
                    invoice_id=invoice_id[:64],
                    event_type=event_type,
                ),
            )
        except IntegrityError:
            raise _DuplicateDelivery from None
        if held is not None:
            outcome = InvoiceOutcome.unchanged(held.status)
        elif invoice is None:
            outcome = InvoiceOutcome.ignored("unknown invoice")
        else:
            outcome = await request.app[INVOICE_LISTENER](session, invoice)
        if outcome.kind is OutcomeKind.RETRY:
            raise _OrderBusy
        # Row values, not model instances: building those cost more than the INSERTs.
        await insert_values(
            session,
            InvoiceEvent,
            webhook_event(
                event, invoice_id, delivery_id, invoice, outcome, held.order_id if held else None
            ),
        )
        await insert_values(
            session, WebhookReceipt, receipt_values(request, body, 200, str(outcome))
        )
    return outcome
