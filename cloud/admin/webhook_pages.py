"""The console's webhook log: every delivery received, and asking BTCPay to send one again."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from aiohttp import web

from cloud.admin.access import render_admin, require_operator
from cloud.admin.audit import record
from cloud.payments.greenfield import BtcpayError
from cloud.payments.keys import GREENFIELD
from cloud.payments.models import WebhookReceipt
from cloud.payments.webhook_log import ReceiptFilter, list_receipts
from cloud.web.forms import transaction
from cloud.web.keys import DB

_LOGGER = logging.getLogger(__name__)

_VERIFIED = {"yes": True, "no": False}


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 12 else None


async def webhooks_page(request: web.Request) -> web.Response:
    await require_operator(request, "admin.webhooks.read")
    query = request.query
    where = ReceiptFilter(
        invoice_id=query.get("invoice", "").strip()[:64] or None,
        verified=_VERIFIED.get(query.get("verified", "")),
        before_id=_int(query.get("before", "")),
    )
    async with request.app[DB]() as session:
        receipts = await list_receipts(session, where)
    return render_admin(
        request,
        "admin/webhooks.html",
        {"receipts": receipts, "where": where, "verified": query.get("verified", "")},
    )


async def redeliver(request: web.Request) -> web.Response:
    """Ask BTCPay to send a verified delivery again (its answer lands in this log)."""
    principal = await require_operator(request, "admin.webhooks.redeliver")
    receipt_id = _int(request.match_info["receipt_id"])
    async with request.app[DB]() as session:
        receipt = await session.get(WebhookReceipt, receipt_id) if receipt_id else None
    if receipt is None:
        raise web.HTTPNotFound(text="There is no such delivery in the log.")
    if not receipt.verified or not receipt.webhook_id or not receipt.delivery_id:
        raise web.HTTPConflict(
            text="Only a delivery whose signature was verified can be sent again: the ids in "
            "an unverified one cannot be trusted."
        )
    try:
        new_id = await request.app[GREENFIELD].redeliver_webhook_delivery(
            receipt.webhook_id, receipt.delivery_id
        )
    except BtcpayError as err:
        _LOGGER.warning("redelivery of %s refused: %s", receipt.delivery_id, err.message)
        status = err.status if err.status in (404, 409) else 502
        raise _error(status, f"BTCPay did not send it again: {err.message}") from err
    async with transaction(request.app) as session:
        await record(
            session,
            principal,
            "webhook.redelivery_requested",
            f"delivery:{receipt.delivery_id}",
            {"invoice": receipt.invoice_id, "new_delivery": new_id},
        )
    raise web.HTTPSeeOther(f"/admin/webhooks?{urlencode({'invoice': receipt.invoice_id or ''})}")


def _error(status: int, text: str) -> web.HTTPException:
    errors: dict[int, type[web.HTTPException]] = {404: web.HTTPNotFound, 409: web.HTTPConflict}
    return errors.get(status, web.HTTPBadGateway)(text=text)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/webhooks", webhooks_page)
    app.router.add_post("/admin/webhooks/{receipt_id}/redeliver", redeliver)
