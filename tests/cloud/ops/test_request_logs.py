"""JSON logs with a request id on every line logged while a request is handled, and the
same id on the store's calls to BTCPay."""

from __future__ import annotations

import io
import json
import logging

import pytest

from cloud.config import ConfigError
from cloud.ops.logs import log_format, use_log_format
from tests.cloud.checkout.shop import SHIPPING_ADDRESS
from tests.cloud.common import csrf_from


@pytest.fixture
def json_log():
    """The root logger's lines, formatted as `ethos cloud serve` does in production."""
    stream = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    configured = logging.Logger("configured")  # use_log_format sets up a logger's handlers
    configured.addHandler(handler)
    use_log_format("json", configured)
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


async def test_a_checkouts_log_lines_and_its_btcpay_calls_share_the_request_id(
    shop, json_log, unique_id
):
    await shop.add_stock("EPD-1", 1)
    assert (await shop.add_to_cart("EPD-1", 1)).status == 303
    page = await shop.client.get("/checkout")
    request_id = f"checkout-{unique_id}"
    response = await shop.client.post(
        "/checkout",
        data={
            "csrf_token": csrf_from(await page.text()),
            "email": f"{unique_id}@example.org",
            **SHIPPING_ADDRESS,
        },
        headers={"X-Request-Id": request_id},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    assert response.headers["X-Request-Id"] == request_id

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == request_id]
    messages = " | ".join(line["message"] for line in mine)
    assert "placed" in messages and "invoice" in messages, messages
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)

    status, seen = await shop.sim.call("GET", "/simulator/requests")
    assert status == 200
    calls = [call for call in seen if call["requestId"] == request_id]
    assert any(call["method"] == "POST" and call["path"].endswith("/invoices") for call in calls)


async def test_a_request_without_an_id_gets_one_and_a_bad_id_is_replaced(client):
    made = await client.get("/healthz")
    assert len(made.headers["X-Request-Id"]) == 32
    forged = await client.get("/healthz", headers={"X-Request-Id": "x\u00e9<script>"})
    assert forged.headers["X-Request-Id"] != "x\u00e9<script>"
    missing = await client.get("/no-such-page", headers={"X-Request-Id": "kept-id-123"})
    assert missing.status == 404 and missing.headers["X-Request-Id"] == "kept-id-123"


def test_the_log_format_is_json_in_production_and_a_typo_is_refused():
    assert log_format({}, production=True) == "json"
    assert log_format({}, production=False) == "text"
    assert log_format({"ETHOS_LOG_FORMAT": "JSON"}, production=False) == "json"
    with pytest.raises(ConfigError, match="ETHOS_LOG_FORMAT"):
        log_format({"ETHOS_LOG_FORMAT": "yaml"}, production=True)
