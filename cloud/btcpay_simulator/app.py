"""The BTCPay simulator: an aiohttp app speaking the Greenfield subset the store uses.

Invoices (store-scoped paths and the shorter v2.4 forms), payment methods, manual marking,
invoice refunds with their pull payments and payouts (`refund_routes`),
webhooks with signed, ordered, retried deliveries and redelivery, and a checkout page
`/i/{id}` with a BIP21 URI, its QR code and regtest-style "cheat" buttons. For development
and tests only: it refuses to run when ETHOS_ENV=production.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp
from aiohttp import web

from cloud.btcpay_simulator.chaos import ChaosError
from cloud.btcpay_simulator.delivery import WebhookSender
from cloud.btcpay_simulator.pages import checkout_page, invoices_page
from cloud.btcpay_simulator.pull_payments import PayoutEvent
from cloud.btcpay_simulator.state import Event, SimInvoice, SimStore, SimWebhook, new_id
from cloud.payments.const import HEALTH_PATH, RETRY_DELAYS_SECONDS, SIMULATOR_HEADER
from cloud.payments.settings import (
    DEVELOPMENT_BTCPAY_API_KEY,
    DEVELOPMENT_BTCPAY_STORE_ID,
    SPEED_POLICIES,
)
from ethos.tasks import async_cancel_and_wait

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SimulatorRefused(RuntimeError):
    """The simulator must not run here (production)."""


@dataclass(frozen=True)
class SimulatorSettings:
    api_key: str = DEVELOPMENT_BTCPAY_API_KEY
    store_id: str = DEVELOPMENT_BTCPAY_STORE_ID
    public_url: str | None = None  # for checkout links; default: the request's host
    rate: Decimal = Decimal("50000.00")  # fiat per BTC
    retry_delays: tuple[float, ...] = RETRY_DELAYS_SECONDS
    expiry_tick_seconds: float = 1.0
    env: str = "development"

    def validate(self) -> None:
        if self.env == "production":
            raise SimulatorRefused(
                "the BTCPay simulator is for development and tests: ETHOS_ENV=production "
                "refuses it; point BTCPAY_URL at a real BTCPay Server"
            )


STORE: web.AppKey[SimStore] = web.AppKey("sim_store", SimStore)
SENDER: web.AppKey[WebhookSender] = web.AppKey("sim_sender", WebhookSender)
SIM_SETTINGS: web.AppKey[SimulatorSettings] = web.AppKey("sim_settings", SimulatorSettings)
FAULTS: web.AppKey[list[dict[str, Any]]] = web.AppKey("sim_faults", list)
# The X-Request-Id of recent API calls (test hook: GET /simulator/requests).
SEEN_REQUEST_IDS: web.AppKey[deque[dict[str, str]]] = web.AppKey("sim_request_ids")
SEEN_REQUEST_IDS_KEPT = 1000


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, indent=2))


def _problem(status: int, code: str, message: str) -> web.Response:
    return _json({"code": code, "message": message}, status)


def _validation(errors: list[tuple[str, str]]) -> web.Response:
    return _json([{"path": path, "message": message} for path, message in errors], 422)


def _next_fault(request: web.Request) -> dict[str, Any] | None:
    """The first queued fault aimed at this call (by method and path, when it names them)."""
    faults = request.app[FAULTS]
    for index, fault in enumerate(faults):
        if fault.get("method") in (None, request.method) and fault.get("path") in (
            None,
            request.path,
        ):
            return faults.pop(index)
    return None


@web.middleware
async def _sim_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-Id")
    if request_id and request.path.startswith("/api/"):
        request.app[SEEN_REQUEST_IDS].append(
            {"method": request.method, "path": request.path, "requestId": request_id[:100]}
        )
    if request.path.startswith("/api/") and request.path != HEALTH_PATH:
        fault = _next_fault(request)
        if fault is not None and fault["status"] == "pass":
            fault = None  # lets this call through: the fault queued after it hits the next
        if fault is not None and fault["status"] == "slow":
            # Do the work, then answer too late: the caller times out after the fact.
            response = await handler(request)
            await asyncio.sleep(float(fault.get("delay", 30)))
            return response
        if fault is not None:
            if fault["status"] == "timeout":
                await asyncio.sleep(float(fault.get("delay", 30)))
            else:
                status = int(fault["status"])
                response = (
                    _validation([("amount", "simulated failure")])
                    if status == 422
                    else _problem(status, "simulated", "simulated failure")
                )
                response.headers[SIMULATOR_HEADER] = "1"
                return response
        header = request.headers.get("Authorization", "")
        expected = f"token {request.app[SIM_SETTINGS].api_key}"
        if not hmac.compare_digest(header.encode(), expected.encode()):
            response = _problem(401, "unauthenticated", "Authentication is required")
        else:
            response = await handler(request)
    else:
        response = await handler(request)
    response.headers[SIMULATOR_HEADER] = "1"
    return response


def _store(request: web.Request) -> SimStore:
    store = request.app[STORE]
    if request.match_info.get("storeId", store.store_id) != store.store_id:
        raise web.HTTPNotFound(
            text=json.dumps({"code": "store-not-found", "message": "Store not found"}),
            content_type="application/json",
        )
    return store


def _invoice(request: web.Request) -> SimInvoice:
    invoice = _store(request).invoices.get(request.match_info["invoiceId"])
    if invoice is None:
        raise web.HTTPNotFound(
            text=json.dumps({"code": "invoice-not-found", "message": "Invoice not found"}),
            content_type="application/json",
        )
    return invoice


def _base_url(request: web.Request) -> str:
    return request.app[SIM_SETTINGS].public_url or f"{request.scheme}://{request.host}"


def publish(app: web.Application, events: Sequence[Event | PayoutEvent]) -> None:
    app[SENDER].publish(list(app[STORE].webhooks.values()), events)


async def _read_object(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return _problem(400, "invalid-json", "The request body is not valid JSON")
    if not isinstance(body, dict):
        return _problem(400, "invalid-json", "The request body must be a JSON object")
    return body


async def create_invoice(request: web.Request) -> web.Response:
    store = _store(request)
    body = await _read_object(request)
    if isinstance(body, web.Response):
        return body
    errors: list[tuple[str, str]] = []
    try:
        amount = Decimal(str(body.get("amount")))
        if not amount.is_finite() or amount <= 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors.append(("amount", "Amount should be a positive decimal"))
        amount = Decimal(0)
    currency = str(body.get("currency") or "").upper()
    if not currency.isalpha() or not 3 <= len(currency) <= 5:
        errors.append(("currency", "Invalid currency"))
    metadata = body.get("metadata") or {}
    checkout = body.get("checkout") or {}
    if not isinstance(metadata, dict):
        errors.append(("metadata", "Metadata should be an object"))
    if not isinstance(checkout, dict):
        errors.append(("checkout", "Checkout should be an object"))
        checkout = {}
    speed = checkout.get("speedPolicy")
    if speed is not None and speed not in SPEED_POLICIES:
        errors.append(("checkout.speedPolicy", "Invalid speed policy"))
    expiry = checkout.get("expirationMinutes")
    if expiry is not None and (not isinstance(expiry, int | float) or expiry <= 0):
        errors.append(("checkout.expirationMinutes", "Should be a positive number"))
    if errors:
        return _validation(errors)
    invoice, events = store.create_invoice(amount, currency, metadata, checkout)
    publish(request.app, events)
    return _json(invoice.to_json(_base_url(request)))


async def list_invoices(request: web.Request) -> web.Response:
    store = _store(request)
    order_ids = request.query.getall("orderId", [])
    invoices = [
        inv.to_json(_base_url(request))
        for inv in store.invoices.values()
        if not order_ids or inv.metadata.get("orderId") in order_ids
    ]
    return _json(sorted(invoices, key=lambda i: -i["createdTime"]))


async def get_invoice(request: web.Request) -> web.Response:
    return _json(_invoice(request).to_json(_base_url(request)))


async def get_payment_methods(request: web.Request) -> web.Response:
    return _json(_invoice(request).payment_methods_json())


async def mark_invoice(request: web.Request) -> web.Response:
    invoice = _invoice(request)
    body = await _read_object(request)
    if isinstance(body, web.Response):
        return body
    status = body.get("status")
    if status not in ("Settled", "Invalid"):
        return _validation([("status", "Status can only be Settled or Invalid")])
    publish(request.app, request.app[STORE].mark(invoice, status))
    return _json(invoice.to_json(_base_url(request)))


async def create_webhook(request: web.Request) -> web.Response:
    store = _store(request)
    body = await _read_object(request)
    if isinstance(body, web.Response):
        return body
    url = body.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return _validation([("url", "Url should be an absolute http(s) URL")])
    events = body.get("authorizedEvents") or {}
    webhook = SimWebhook(
        id=new_id(),
        url=url,
        secret=body.get("secret") or new_id(30),
        enabled=body.get("enabled", True) is not False,
        automatic_redelivery=body.get("automaticRedelivery", True) is not False,
        everything=events.get("everything", True) is not False,
        specific_events=tuple(events.get("specificEvents") or ()),
    )
    store.webhooks[webhook.id] = webhook
    return _json(webhook.to_json(with_secret=True))


def _webhook(request: web.Request) -> SimWebhook:
    webhook = _store(request).webhooks.get(request.match_info["webhookId"])
    if webhook is None:
        raise web.HTTPNotFound(
            text=json.dumps({"code": "webhook-not-found", "message": "Webhook not found"}),
            content_type="application/json",
        )
    return webhook


async def list_webhooks(request: web.Request) -> web.Response:
    return _json([w.to_json() for w in _store(request).webhooks.values()])


async def get_webhook(request: web.Request) -> web.Response:
    return _json(_webhook(request).to_json())


async def delete_webhook(request: web.Request) -> web.Response:
    webhook = _webhook(request)
    webhook.enabled = False
    del request.app[STORE].webhooks[webhook.id]
    return web.Response(status=200)


async def list_deliveries(request: web.Request) -> web.Response:
    webhook = _webhook(request)
    deliveries = [
        d.to_json() for d in request.app[SENDER].deliveries.values() if d.webhook_id == webhook.id
    ]
    return _json(sorted(deliveries, key=lambda d: -d["timestamp"]))


async def get_delivery_request(request: web.Request) -> web.Response:
    webhook = _webhook(request)
    delivery = request.app[SENDER].deliveries.get(request.match_info["deliveryId"])
    if delivery is None or delivery.webhook_id != webhook.id:
        return _problem(404, "delivery-not-found", "Delivery not found")
    return web.Response(body=delivery.body, content_type="application/json")


async def redeliver(request: web.Request) -> web.Response:
    webhook = _webhook(request)
    original = request.app[SENDER].deliveries.get(request.match_info["deliveryId"])
    if original is None or original.webhook_id != webhook.id:
        return _problem(404, "delivery-not-found", "Delivery not found")
    return _json(request.app[SENDER].redeliver(webhook, original).id)


async def health(_request: web.Request) -> web.Response:
    """Greenfield's health answer; no API key and no injected faults (probes call it)."""
    return _json({"synchronized": True})


async def seen_request_ids(request: web.Request) -> web.Response:
    """Test hook: the X-Request-Id headers of recent API calls, oldest first."""
    seen: deque[dict[str, str]] = request.app[SEEN_REQUEST_IDS]
    return _json(list(seen))


async def inject_faults(request: web.Request) -> web.Response:
    """Test hook: the next `count` API calls fail with HTTP `status`, or "timeout" (answer
    nothing for `delay` seconds), or "slow" (do the work, then answer after `delay`), or
    "pass" (answer normally: queued first, it aims a later fault at the call after).
    Given `method` and/or `path`, only calls with that method and path are hit (others,
    such as a webhook's re-fetch racing the test, pass untouched)."""
    body = await _read_object(request)
    if isinstance(body, web.Response):
        return body
    fault = {
        "status": body.get("status", 503),
        "delay": body.get("delay", 30),
        "method": body.get("method"),
        "path": body.get("path"),
    }
    request.app[FAULTS].extend(fault for _ in range(int(body.get("count", 1))))
    return _json({"queued": len(request.app[FAULTS])})


async def chaos_settings(request: web.Request) -> web.Response:
    """Test hook: GET the delivery chaos settings and counters; POST replaces the settings
    (targets, drop, duplicate, reorder, forge, reorder_delay, seed; see chaos.py)."""
    chaos = request.app[SENDER].chaos
    if request.method == "POST":
        body = await _read_object(request)
        if isinstance(body, web.Response):
            return body
        try:
            chaos.configure(body)
        except ChaosError as err:
            return _problem(422, "invalid-chaos", str(err))
    return _json(chaos.to_json())


CHEATS = ("pay-confirm", "pay", "pay-part", "overpay", "confirm", "expire")


async def cheat(request: web.Request) -> web.Response:
    """Regtest "cheat mode": pay (and confirm), pay part, overpay, mine blocks, expire."""
    invoice = _invoice(request)
    store = request.app[STORE]
    action = request.match_info["action"]
    due = max(invoice.btc_due, Decimal(0))
    if action == "pay-confirm":
        events = store.pay(invoice, due if due > 0 else invoice.btc_amount)
        events += store.confirm(invoice)
    elif action == "pay":
        events = store.pay(invoice, due if due > 0 else invoice.btc_amount)
    elif action == "pay-part":
        events = store.pay(invoice, (due / 2).quantize(Decimal("0.00000001")))
    elif action == "overpay":
        events = store.pay(invoice, (due * Decimal("1.2")).quantize(Decimal("0.00000001")))
    elif action == "confirm":
        events = store.confirm(invoice)
    elif action == "expire":
        events = store.expire(invoice)
    else:
        raise web.HTTPNotFound(text=f"Unknown test action; use one of {', '.join(CHEATS)}")
    publish(request.app, events)
    if request.headers.get("Accept", "").startswith("application/json"):
        return _json(invoice.to_json(_base_url(request)))
    raise web.HTTPSeeOther(f"/i/{invoice.id}")


async def invoices_list_page(request: web.Request) -> web.Response:
    store = request.app[STORE]
    return web.Response(text=invoices_page(store.invoices.values()), content_type="text/html")


async def checkout(request: web.Request) -> web.Response:
    invoice = _invoice(request)
    return web.Response(text=checkout_page(invoice, CHEATS), content_type="text/html")


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    session = aiohttp.ClientSession()
    sender = app[SENDER] = WebhookSender(session, app[SIM_SETTINGS].retry_delays)

    async def expire_loop() -> None:
        while True:
            await asyncio.sleep(app[SIM_SETTINGS].expiry_tick_seconds)
            publish(app, app[STORE].expire_due(int(time.time())))

    ticker = asyncio.create_task(expire_loop(), name="btcpay-sim-expiry")
    yield
    await async_cancel_and_wait(ticker)
    await sender.close()
    await session.close()


def create_simulator_app(settings: SimulatorSettings | None = None) -> web.Application:
    settings = settings or SimulatorSettings()
    settings.validate()
    app = web.Application(middlewares=[_sim_middleware])
    app[SIM_SETTINGS] = settings
    app[STORE] = SimStore(settings.store_id, settings.rate)
    app[FAULTS] = []
    app[SEEN_REQUEST_IDS] = deque(maxlen=SEEN_REQUEST_IDS_KEPT)
    app.cleanup_ctx.append(_lifecycle)
    store = "/api/v1/stores/{storeId}"
    for prefix in (f"{store}/invoices/{{invoiceId}}", "/api/v1/invoices/{invoiceId}"):
        app.router.add_get(prefix, get_invoice)
        app.router.add_get(f"{prefix}/payment-methods", get_payment_methods)
        app.router.add_post(f"{prefix}/status", mark_invoice)
    app.router.add_post(f"{store}/invoices", create_invoice)
    app.router.add_get(f"{store}/invoices", list_invoices)
    app.router.add_post(f"{store}/webhooks", create_webhook)
    app.router.add_get(f"{store}/webhooks", list_webhooks)
    for prefix in (f"{store}/webhooks/{{webhookId}}", "/api/v1/webhooks/{webhookId}"):
        app.router.add_get(prefix, get_webhook)
        app.router.add_delete(prefix, delete_webhook)
        app.router.add_get(f"{prefix}/deliveries", list_deliveries)
        app.router.add_get(f"{prefix}/deliveries/{{deliveryId}}/request", get_delivery_request)
        app.router.add_post(f"{prefix}/deliveries/{{deliveryId}}/redeliver", redeliver)
    app.router.add_get(HEALTH_PATH, health)
    app.router.add_post("/simulator/faults", inject_faults)
    app.router.add_get("/simulator/requests", seen_request_ids)
    app.router.add_get("/simulator/chaos", chaos_settings)
    app.router.add_post("/simulator/chaos", chaos_settings)
    app.router.add_get("/", invoices_list_page)
    app.router.add_get("/i/{invoiceId}", checkout)
    app.router.add_post("/i/{invoiceId}/test/{action}", cheat)
    # Refunds: pull payments and payouts (that module builds on this one's helpers).
    from cloud.btcpay_simulator import refund_routes

    refund_routes.add_routes(app, settings.store_id, settings.rate)
    return app
