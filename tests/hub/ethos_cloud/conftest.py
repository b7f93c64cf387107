"""Fixtures: the store with its BTCPay simulator, a hub on the test broker, a signed-up owner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from firmware.simulator.firmware_path import ensure_firmware_importable
from tests.cloud.checkout.shop import open_shop, sim, simulator_process  # noqa: F401
from tests.cloud.conftest import cloud_settings  # noqa: F401

ensure_firmware_importable()

from tests.firmware.mqtt_support import clear_retained  # noqa: E402
from tests.hub.ethos_cloud.common import Home, open_home  # noqa: E402


@pytest.fixture
async def shop(aiohttp_client, cloud_settings, sim, smtp_server):  # noqa: F811
    shop = await open_shop(aiohttp_client, cloud_settings, sim, smtp_server, with_webhook=True)
    yield shop
    assert shop.webhook is not None
    await sim.call("DELETE", f"/api/v1/stores/{sim.store_id}/webhooks/{shop.webhook['id']}")


@pytest.fixture
def prefix(unique_id: str) -> str:
    return f"ha_cloud_{unique_id}"


@pytest.fixture
async def home(
    mqtt_broker_url: str,
    shop,
    aiohttp_client,
    tmp_path: Path,
    prefix: str,
    unique_id: str,
    e2e: bool,
) -> AsyncIterator[Home]:
    home = await open_home(
        shop, aiohttp_client, tmp_path / "hub", mqtt_broker_url, prefix,
        f"owner-{unique_id}@example.org",
    )  # fmt: skip
    try:
        yield home
    finally:
        await home.person.aclose()
        if e2e:  # the shared Mosquitto; the in-process broker lives for one test only
            await clear_retained(mqtt_broker_url, "none", prefix, f"{prefix}/status")
