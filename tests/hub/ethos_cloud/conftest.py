"""Fixtures: the store with its BTCPay simulator, a hub on the test broker, a signed-up owner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from firmware.simulator.firmware_path import ensure_firmware_importable
from tests.cloud.checkout.shop import open_shop, sim, simulator_process  # noqa: F401
from tests.cloud.conftest import cloud_settings  # noqa: F401

ensure_firmware_importable()

from hub.integrations.mqtt.runtime import mqtt_runtime  # noqa: E402
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
) -> AsyncIterator[Home]:
    home = await open_home(
        shop, aiohttp_client, tmp_path / "hub", mqtt_broker_url, prefix,
        f"owner-{unique_id}@example.org",
    )  # fmt: skip
    try:
        yield home
    finally:
        await home.person.aclose()
        await clear_retained(mqtt_broker_url, "none", prefix, f"{prefix}/status")


@pytest.fixture
async def identity_home(dynsec_broker, aiohttp_client, tmp_path: Path, prefix: str):
    """The hub (web app, owner signed in) as the admin of a dynamic-security Mosquitto,
    linked to a scripted store; identity already checked and enforced."""
    from aiohttp.test_utils import TestServer

    from hub.web.app import create_app
    from tests.hub.common import make_config
    from tests.hub.ethos_cloud.identity import IdentityHome, link
    from tests.hub.ethos_cloud.test_sync_resilience import ScriptedStore
    from tests.hub.web.conftest import sign_in
    from tests.support.waiting import wait_until

    store = ScriptedStore()
    server = TestServer(store.app())
    await server.start_server()
    cloud_url = str(server.make_url("")).rstrip("/")
    config = make_config(
        tmp_path / "hub",
        integrations=("mqtt", "ethos_cloud"),
        mqtt_url=dynsec_broker.admin_url,
        discovery_prefix=prefix,
        cloud_url=cloud_url,
    )
    client = await aiohttp_client(create_app(config))
    try:
        owner = await sign_in(client, "owner-sub", "Olivia")
        home = IdentityHome(client, owner, store, dynsec_broker, prefix)
        await wait_until(lambda: mqtt_runtime(home.hub).client.connected.is_set(), timeout=15)
        await link(home.hub, cloud_url)
        await wait_until(lambda: home.runtime.sync.status == "ok")
        yield home
    finally:
        await client.close()
        await server.close()


@pytest.fixture
async def anonymous_home(mqtt_broker_url: str, aiohttp_client, tmp_path: Path, prefix: str):
    """The same home on an anonymous broker (the default tier's embedded one, the e2e tier's
    shared Mosquitto), where the broker enforces nothing and only the hub's pin stands."""
    from aiohttp.test_utils import TestServer

    from hub.web.app import create_app
    from tests.hub.common import make_config
    from tests.hub.ethos_cloud.identity import IdentityHome, link
    from tests.hub.ethos_cloud.test_sync_resilience import ScriptedStore
    from tests.hub.web.conftest import sign_in
    from tests.support.waiting import wait_until

    store = ScriptedStore()
    server = TestServer(store.app())
    await server.start_server()
    cloud_url = str(server.make_url("")).rstrip("/")
    config = make_config(
        tmp_path / "hub",
        integrations=("mqtt", "ethos_cloud"),
        mqtt_url=mqtt_broker_url,
        discovery_prefix=prefix,
        cloud_url=cloud_url,
    )
    client = await aiohttp_client(create_app(config))
    try:
        owner = await sign_in(client, "owner-sub", "Olivia")
        home = IdentityHome(client, owner, store, None, prefix)  # type: ignore[arg-type]
        await link(home.hub, cloud_url)
        await wait_until(lambda: home.runtime.sync.status == "ok")
        yield home
    finally:
        await client.close()
        await server.close()
