"""`/metrics` in Prometheus' text format: one registry per app (made in the app factory).

Counted as requests pass (this replica): request latency by route template, checkouts by
outcome, BTCPay webhook deliveries by outcome. Read from the database at scrape time (the
same on every replica): reconciler lag, mail queue depth, orders by status. This process:
database pool use, recommender model age, which once-only jobs it holds.

Access: with ETHOS_METRICS_TOKEN set, only `Authorization: Bearer <token>`; without it,
development serves everyone and production serves nobody (404), so business figures are
never public by accident.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from sqlalchemy import func, select
from sqlmodel import col

from cloud.checkout.models import Order
from cloud.checkout.states import WATCHED_STATUSES, OrderStatus
from cloud.db import utcnow
from cloud.mail.dispatcher import MAX_ATTEMPTS
from cloud.mail.models import OutgoingMail
from cloud.ops.const import (
    CHECKOUT_ROUTES,
    JOB_MAIL,
    JOB_RECOMMENDER_TRAINING,
    JOB_RECONCILER,
    JOB_SIGNING_KEY_ROTATION,
    LATENCY_BUCKETS,
    METRICS_PATH,
    UNMATCHED_ROUTE,
)
from cloud.ops.keys import JOBS
from cloud.payments.const import WEBHOOK_PATH
from cloud.web.keys import DB, ENGINE, SETTINGS
from cloud.web.middleware import answers_no_page

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ONCE_ONLY_JOBS = (JOB_MAIL, JOB_RECONCILER, JOB_SIGNING_KEY_ROTATION, JOB_RECOMMENDER_TRAINING)


@dataclass
class StoreMetrics:
    """The app's registry and its metrics."""

    registry: CollectorRegistry
    request_seconds: Histogram
    checkouts: Counter
    webhook_deliveries: Counter
    reconciler_lag: Gauge
    mail_queue: Gauge
    orders: Gauge
    pool_in_use: Gauge
    pool_size: Gauge
    model_age: Gauge
    job_held: Gauge

    @classmethod
    def create(cls) -> StoreMetrics:
        registry = CollectorRegistry(auto_describe=True)
        return cls(
            registry=registry,
            request_seconds=Histogram(
                "ethos_http_request_duration_seconds",
                "Time to answer a request, by route template, method and status class.",
                ["route", "method", "status"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            checkouts=Counter(
                "ethos_checkouts",
                "Checkouts submitted, by outcome (placed, refused, failed).",
                ["outcome"],
                registry=registry,
            ),
            webhook_deliveries=Counter(
                "ethos_webhook_deliveries",
                "BTCPay webhook deliveries received, by outcome.",
                ["outcome"],
                registry=registry,
            ),
            reconciler_lag=Gauge(
                "ethos_reconciler_lag_seconds",
                "How long the most overdue open order has waited for its invoice re-check.",
                registry=registry,
            ),
            mail_queue=Gauge(
                "ethos_mail_queue_depth",
                "Mails queued and not yet sent (still to be tried).",
                registry=registry,
            ),
            orders=Gauge("ethos_orders", "Orders by status.", ["status"], registry=registry),
            pool_in_use=Gauge(
                "ethos_db_pool_connections_in_use",
                "Database connections of this replica checked out of its pool.",
                registry=registry,
            ),
            pool_size=Gauge(
                "ethos_db_pool_size",
                "Database connections this replica's pool keeps.",
                registry=registry,
            ),
            model_age=Gauge(
                "ethos_recommender_model_age_seconds",
                "Age of the recommender model this replica serves (absent: no model).",
                registry=registry,
            ),
            job_held=Gauge(
                "ethos_job_lease_held",
                "1 when this replica holds (runs) the once-only job.",
                ["lease"],  # not "job": Prometheus gives every target a "job" label
                registry=registry,
            ),
        )


METRICS: web.AppKey[StoreMetrics] = web.AppKey("metrics", StoreMetrics)


def route_of(request: web.Request) -> str:
    """The route template ("/orders/{order_id}"), never the raw path."""
    route = request.match_info.route
    resource = route.resource
    if resource is None or request.match_info.http_exception is not None:
        return UNMATCHED_ROUTE
    return resource.canonical


def _webhook_outcome(response: web.StreamResponse) -> str:
    status = response.status
    if status == 200 and isinstance(response, web.Response) and response.body is not None:
        try:
            answer = json.loads(bytes(response.body))  # type: ignore[arg-type]
            word = str(answer.get("status", "")).split(":")[0].strip()
        except (ValueError, TypeError, AttributeError):
            word = ""
        return word[:32] or "accepted"
    return {400: "malformed", 401: "refused_signature", 503: "retry"}.get(status, f"http_{status}")


def _checkout_outcome(status: int) -> str:
    if status < 400:
        return "placed"
    return "refused" if status < 500 else "failed"


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    response: web.StreamResponse | None = None
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as err:
        status = err.status
        raise
    finally:
        metrics = request.app[METRICS]
        route = route_of(request)
        metrics.request_seconds.labels(route, request.method, f"{status // 100}xx").observe(
            time.perf_counter() - started
        )
        if (request.method, route) in CHECKOUT_ROUTES:
            metrics.checkouts.labels(_checkout_outcome(status)).inc()
        elif route == WEBHOOK_PATH and request.method == "POST":
            outcome = (
                _webhook_outcome(response)
                if response is not None
                else {400: "malformed", 401: "refused_signature", 503: "retry"}.get(
                    status, f"http_{status}"
                )
            )
            metrics.webhook_deliveries.labels(outcome).inc()


async def _async_read_database(app: web.Application, metrics: StoreMetrics) -> None:
    now = utcnow()
    async with app[DB]() as session:
        oldest_due = await session.scalar(
            select(func.min(col(Order.next_check_at))).where(
                col(Order.next_check_at) <= now,
                col(Order.status).in_([*WATCHED_STATUSES, OrderStatus.AWAITING_INVOICE]),
            )
        )
        queued = await session.scalar(
            select(func.count(col(OutgoingMail.id))).where(
                col(OutgoingMail.sent_at).is_(None), col(OutgoingMail.attempts) < MAX_ATTEMPTS
            )
        )
        by_status = (
            await session.execute(
                select(col(Order.status), func.count(col(Order.id))).group_by(col(Order.status))
            )
        ).all()
    if oldest_due is not None and oldest_due.tzinfo is None:
        oldest_due = oldest_due.replace(tzinfo=now.tzinfo)
    metrics.reconciler_lag.set((now - oldest_due).total_seconds() if oldest_due else 0.0)
    metrics.mail_queue.set(int(queued or 0))
    metrics.orders.clear()
    for status, count in by_status:
        metrics.orders.labels(str(status)).set(count)


def _read_process(app: web.Application, metrics: StoreMetrics) -> None:
    pool = app[ENGINE].pool
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    if callable(checked_out):
        metrics.pool_in_use.set(checked_out())
    if callable(size):
        metrics.pool_size.set(size())
    from cloud.recommender.web import RECOMMENDER  # the area is optional to this module

    recommender = app.get(RECOMMENDER)
    trained_at = recommender.service.model_trained_at if recommender is not None else None
    if trained_at is None:
        metrics.model_age.set(float("nan"))
    else:
        metrics.model_age.set(max(0.0, time.time() - trained_at))
    jobs = app[JOBS]
    for job in {*ONCE_ONLY_JOBS, *jobs.registered}:
        metrics.job_held.labels(job).set(1 if jobs.holds(job) else 0)


def _allowed(request: web.Request) -> bool | None:
    """True: serve; False: wrong or missing token (401); None: not served at all (404)."""
    settings = request.app[SETTINGS]
    token = settings.metrics_token
    if token is None:
        return None if settings.production else True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@answers_no_page
async def metrics_page(request: web.Request) -> web.Response:
    allowed = _allowed(request)
    if allowed is None:
        raise web.HTTPNotFound()
    if not allowed:
        raise web.HTTPUnauthorized(
            text="/metrics needs the ETHOS_METRICS_TOKEN bearer token.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    metrics = request.app[METRICS]
    try:
        await _async_read_database(request.app, metrics)
    except Exception as err:  # the process figures still go out; the scrape shows the gap
        _LOGGER.warning("metrics: database figures not read (%s)", type(err).__name__)
    _read_process(request.app, metrics)
    body = generate_latest(metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup(app: web.Application) -> None:
    app[METRICS] = StoreMetrics.create()
    app.router.add_get(METRICS_PATH, metrics_page)
