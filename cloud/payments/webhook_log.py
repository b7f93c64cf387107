"""The webhook log: every request to the BTCPay webhook, verified or not, with its answer.

`logs_deliveries` wraps the webhook handler, so every exit (refused signature, malformed
body, duplicate, retry, acted on) is logged the same way without touching its logic. The
body is kept up to `BODY_LIMIT` bytes; the secret and the signature header never are.
Unverified requests are kept up to `UNVERIFIED_PER_MINUTE`, so forgeries cannot fill it.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.db import insert_rows, row_values, utcnow
from cloud.payments.const import SIGNATURE_HEADER
from cloud.payments.keys import WEBHOOK_SECRET
from cloud.payments.models import WebhookReceipt
from cloud.payments.signature import signature_matches
from cloud.web.keys import DB

_LOGGER = logging.getLogger(__name__)

BODY_LIMIT = 8192
PAGE_SIZE = 50
# Anyone can post to the webhook: unverified requests are logged up to this many a minute
# (a flood of forgeries cannot fill the database; the first of them are enough to see it).
UNVERIFIED_PER_MINUTE = 60

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Set by a handler that wrote its own receipt, in the transaction of what it did.
RECEIPT_WRITTEN = web.RequestKey("ethos_webhook_receipt_written", bool)


def _fields(body: bytes) -> dict[str, str | None]:
    try:
        event = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(event, dict):
        return {}

    def text(key: str, limit: int) -> str | None:
        value = event.get(key)
        return str(value)[:limit] if value not in (None, "") else None

    return {
        "delivery_id": text("deliveryId", 64),
        "original_delivery_id": text("originalDeliveryId", 64),
        "webhook_id": text("webhookId", 64),
        "invoice_id": text("invoiceId", 64),
        "event_type": text("type", 48),
    }


def _outcome(response: web.StreamResponse) -> str:
    if isinstance(response, web.Response) and response.body is not None:
        try:
            payload = json.loads(bytes(response.body))  # type: ignore[arg-type]
        except (ValueError, TypeError):
            payload = None
        if isinstance(payload, dict) and "status" in payload:
            return str(payload["status"])
    return response.reason or str(response.status)


def receipt(request: web.Request, body: bytes, status: int, outcome: str) -> WebhookReceipt:
    return WebhookReceipt(**receipt_values(request, body, status, outcome))


def receipt_values(request: web.Request, body: bytes, status: int, outcome: str) -> dict[str, Any]:
    """The log row of a request, as `row_values` (for `insert_values`)."""
    secret = request.app[WEBHOOK_SECRET].value
    verified = secret is not None and signature_matches(
        secret, body, request.headers.get(SIGNATURE_HEADER)
    )
    fields = _fields(body)
    return row_values(
        WebhookReceipt,
        delivery_id=fields.get("delivery_id"),
        original_delivery_id=fields.get("original_delivery_id"),
        webhook_id=fields.get("webhook_id"),
        invoice_id=fields.get("invoice_id"),
        event_type=fields.get("event_type"),
        verified=verified,
        http_status=status,
        outcome=outcome[:200],
        body=body[:BODY_LIMIT].decode("utf-8", errors="replace"),
        body_truncated=len(body) > BODY_LIMIT,
    )


async def _store(request: web.Request, row: WebhookReceipt) -> None:
    try:
        async with request.app[DB]() as session, session.begin():
            if not row.verified:
                since = utcnow() - timedelta(minutes=1)
                recent = await session.scalar(
                    select(func.count())
                    .select_from(WebhookReceipt)
                    .where(
                        col(WebhookReceipt.received_at) >= since,
                        col(WebhookReceipt.verified).is_(False),
                    )
                )
                if (recent or 0) >= UNVERIFIED_PER_MINUTE:
                    _LOGGER.warning("webhook log: unverified request not recorded (flood)")
                    return
            await insert_rows(session, row)
    except SQLAlchemyError:
        # The delivery's answer matters more than its log line: never fail it for this.
        _LOGGER.exception("webhook log: delivery %s not recorded", row.delivery_id)


def logs_deliveries(handler: Handler) -> Handler:
    """Log every request the webhook handler answers (its attributes, CSRF exemption
    included, carry over). A handler may write the receipt itself, with the rows of what it
    did (one commit instead of two), and set `RECEIPT_WRITTEN`."""

    @functools.wraps(handler)
    async def logged(request: web.Request) -> web.StreamResponse:
        try:
            body = await request.read()
        except web.HTTPException as exc:  # too large: log what we know, without a body
            await _store(request, receipt(request, b"", exc.status, exc.text or exc.reason))
            raise
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            await _store(request, receipt(request, body, exc.status, exc.text or exc.reason))
            raise
        except Exception:
            await _store(request, receipt(request, body, 500, "error in the store"))
            raise
        if not request.get(RECEIPT_WRITTEN):
            await _store(request, receipt(request, body, response.status, _outcome(response)))
        return response

    return logged


@dataclass(frozen=True)
class ReceiptFilter:
    invoice_id: str | None = None
    verified: bool | None = None
    before_id: int | None = None


async def list_receipts(
    session: AsyncSession, where: ReceiptFilter, limit: int = PAGE_SIZE
) -> list[WebhookReceipt]:
    query: Any = select(WebhookReceipt).order_by(col(WebhookReceipt.id).desc()).limit(limit)
    if where.invoice_id:
        query = query.where(col(WebhookReceipt.invoice_id) == where.invoice_id)
    if where.verified is not None:
        query = query.where(col(WebhookReceipt.verified) == where.verified)
    if where.before_id is not None:
        query = query.where(col(WebhookReceipt.id) < where.before_id)
    return list((await session.scalars(query)).all())
