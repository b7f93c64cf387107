"""Fixtures: a hub linked to a fake store (REMOTE.md's hub-session API) with remote access
loaded, its owner signed in, two switches discovered, and the broker the uplink uses."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from firmware.simulator.firmware_path import ensure_firmware_importable

ensure_firmware_importable()  # the store-link helpers import the firmware's discovery

from hub.web.app import create_app  # noqa: E402
from tests.firmware.mqtt_support import clear_retained  # noqa: E402
from tests.hub.common import make_config  # noqa: E402
from tests.hub.ethos_cloud.identity import link  # noqa: E402
from tests.hub.ethos_remote.home import RemoteHome, RemoteStore, switch_config  # noqa: E402
from tests.hub.mqtt.device import FakeDevice  # noqa: E402
from tests.hub.web.conftest import sign_in  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402

INTEGRATIONS = ("mqtt", "ethos_cloud", "ethos_remote")
FAST_RECONCILE_S = 0.1
PLUG, HEATER = "switch.kitchen_plug", "switch.kitchen_heater"


@pytest.fixture
def prefix(unique_id: str) -> str:
    return f"ha_remote_{unique_id}"


@pytest.fixture
def remote_broker_url(mqtt_broker_url: str) -> str:
    """The broker the uplink talks to: the test broker (the hub's topics are unique)."""
    return mqtt_broker_url


@pytest.fixture
async def remote_store(remote_broker_url: str) -> AsyncIterator[tuple[RemoteStore, str]]:
    store = RemoteStore(hub_id=secrets.token_hex(16), broker_url=remote_broker_url)
    server = TestServer(store.app())
    await server.start_server()
    try:
        yield store, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def open_remote_home(
    aiohttp_client, store: RemoteStore, cloud_url: str, data_dir: Path, mqtt_url: str, prefix: str
) -> RemoteHome:
    config = make_config(
        data_dir,
        integrations=INTEGRATIONS,
        mqtt_url=mqtt_url,
        discovery_prefix=prefix,
        cloud_url=cloud_url,
    )
    client = await aiohttp_client(create_app(config))
    home = RemoteHome(client, store, store.hub_id, store.broker_url)
    home.remote.reconcile_interval = FAST_RECONCILE_S
    await sign_in(client, "owner-sub", "Olivia")
    return home


@pytest.fixture
async def remote_home(
    aiohttp_client, remote_store, tmp_path: Path, mqtt_broker_url: str, prefix: str, e2e: bool
) -> AsyncIterator[RemoteHome]:
    store, cloud_url = remote_store
    home = await open_remote_home(
        aiohttp_client, store, cloud_url, tmp_path / "hub", mqtt_broker_url, prefix
    )
    await link(home.hub, cloud_url, client_id=store.hub_id)
    async with FakeDevice.connect(mqtt_broker_url) as device:
        for object_id, name in (("plug", "Plug"), ("heater", "Heater")):
            topic, config = switch_config(prefix, object_id, name, "kitchen")
            await device.publish(topic, config, retain=True)
        await wait_until(lambda: home.hub.states.get(PLUG) and home.hub.states.get(HEATER))
        yield home
    # The hub disconnects before the broker stops: amqtt's shutdown can wait forever on a
    # client still connected (a hang seen about once in twenty runs).
    await home.client.close()
    if e2e:  # the shared Mosquitto keeps what the hub retained: the snapshot, the keys
        await clear_retained(store.broker_url, "none", prefix, f"ethos-home/{store.hub_id}/#")
        await clear_retained(mqtt_broker_url, "none", prefix, f"{prefix}/status")
