"""`/metrics` after real actions: the counters and gauges move with what the store did."""

from __future__ import annotations

import math
from dataclasses import replace

from cloud.app import create_app
from tests.cloud.ops.metrics_text import samples, value

TOKEN = "metrics-token-for-tests-0123456789"


async def _scrape(client, **headers: str) -> dict:
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain")
    return samples(await response.text())


async def test_requests_checkouts_and_webhooks_move_the_counters(shop):
    before = await _scrape(shop.client)
    await shop.add_stock("EPD-1", 2)
    assert (await shop.client.get("/products/EPD-1")).status == 200
    assert (await shop.client.get("/products/NOT-A-THING")).status == 404
    assert (await shop.add_to_cart("EPD-1", 1)).status == 303
    refused = await shop.submit_checkout("not an address")
    order_id = await shop.place_order("EPD-1", 1, "buyer@example.org")
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    forged = await shop.client.post(
        "/webhooks/btcpay", data=b'{"type": "InvoiceSettled"}', headers={"BTCPay-Sig": "sha256=0"}
    )
    assert forged.status == 401
    after = await _scrape(shop.client)

    # Latency by route template: every product page under one series, none by raw path
    # (one visit, and one before each of the two times the item went into the cart).
    product = {"route": "/products/{sku}", "method": "GET", "status": "2xx"}
    assert value(after, "ethos_http_request_duration_seconds_count", **product) == 3 + value(
        before, "ethos_http_request_duration_seconds_count", **product
    )
    missing = {**product, "status": "4xx"}
    assert value(after, "ethos_http_request_duration_seconds_count", **missing) >= 1
    assert not any("EPD-1" in str(labels) for _name, labels in after)

    assert 400 <= refused.status < 500
    assert value(after, "ethos_checkouts_total", outcome="refused") == 1
    assert value(after, "ethos_checkouts_total", outcome="placed") == 1
    # The simulator's deliveries moved the order to paid; the forgery was refused.
    assert value(after, "ethos_webhook_deliveries_total", outcome="paid") >= 1
    assert value(after, "ethos_webhook_deliveries_total", outcome="refused_signature") == 1
    assert value(after, "ethos_orders", status="paid") == 1

    assert value(after, "ethos_reconciler_lag_seconds") >= 0
    assert value(after, "ethos_mail_queue_depth") >= 0
    assert value(after, "ethos_db_pool_size") >= 1
    assert value(after, "ethos_job_lease_held", lease="reconciler") == 1  # one replica: it
    age = value(after, "ethos_recommender_model_age_seconds")
    assert math.isnan(age) or age >= 0


async def test_mail_waiting_to_be_sent_is_the_queue_depth(shop):
    from cloud.mail.models import OutgoingMail
    from cloud.ops.const import JOB_MAIL
    from cloud.ops.keys import JOBS
    from cloud.web.keys import DB

    await shop.app[JOBS].async_stop(JOB_MAIL)  # nobody sends: the queue can only grow
    async with shop.app[DB]() as session, session.begin():
        for n in range(3):
            session.add(OutgoingMail(recipient=f"q{n}@example.org", subject="s", body="b"))
    assert value(await _scrape(shop.client), "ethos_mail_queue_depth") == 3


async def test_metrics_need_the_token_when_one_is_set(aiohttp_client, cloud_settings):
    client = await aiohttp_client(create_app(replace(cloud_settings, metrics_token=TOKEN)))
    assert (await client.get("/metrics")).status == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    found = await _scrape(client, Authorization=f"Bearer {TOKEN}")
    assert ("ethos_mail_queue_depth", frozenset()) in found
