"""A flood of junk discovery configs: admitted only at the rate a client is allowed, while
real devices keep being discovered and updated and the web UI keeps answering."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from hub.const import EVENT_STATE_CHANGED
from hub.core.events import Event
from hub.core.hub import Hub
from hub.integrations.mqtt.const import (
    DISCOVERY_CLIENT_BURST,
    DISCOVERY_CLIENT_PER_S,
    DISCOVERY_TOTAL_BURST,
    DISCOVERY_TOTAL_PER_S,
)
from hub.web.app import create_app
from hub.web.keys import HUB_KEY
from tests.hub.common import async_written_document, make_config
from tests.hub.mqtt.conftest import runtime
from tests.hub.mqtt.device import FakeDevice
from tests.support.waiting import wait_until

JUNK = 5_000


@pytest.fixture
async def web(
    mqtt_broker_url: str,  # first: the broker must outlive the hub at teardown
    tmp_path: Path,
    prefix: str,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> AsyncIterator[TestClient]:
    config = make_config(
        tmp_path,
        integrations=("mqtt",),
        mqtt_url=mqtt_broker_url,
        discovery_prefix=prefix,
        cloud_url="http://127.0.0.1:9",  # nothing listens: the store is not needed here
    )
    yield await aiohttp_client(create_app(config))


def junk(prefix: str, node_id: str, n: int) -> tuple[str, str]:
    """A valid sensor config with a device of its own: each would be a registry row."""
    config = {
        "name": f"Junk {n}",
        "uniq_id": f"junk_{node_id}_{n}",
        "stat_t": f"{prefix}/junk/{n}",
        "dev": {"ids": [f"junk-{node_id}-{n}"], "name": f"Junk {n}"},
    }
    return f"{prefix}/sensor/{node_id}/j{n}/config", json.dumps(config)


def device_config(prefix: str, name: str) -> dict:
    return {
        "name": "Temp",
        "uniq_id": f"{name}_temp",
        "stat_t": f"{prefix}/{name}/temp",
        "dev": {"ids": [f"{name}-1"], "name": name.title()},
    }


async def persisted_devices(hub: Hub) -> int:
    return len((await async_written_document(hub, "core.device_registry"))["devices"])


async def assert_admitted_at_rate(
    hub: Hub, started: float, burst: int, per_s: float, others: int
) -> int:
    """Persisted devices never exceed the burst plus what the rate has refilled since
    ``started`` (plus ``others`` real devices); checked over a second after the flood."""
    persisted = 0
    for _ in range(10):
        persisted = await persisted_devices(hub)
        allowed = burst + math.ceil(per_s * (time.monotonic() - started)) + others
        assert persisted <= allowed
        await asyncio.sleep(0.1)
    return persisted


def record_states(hub: Hub, entity_id: str) -> list[str]:
    seen: list[str] = []

    def on_change(event: Event) -> None:
        new = event.data["new_state"]
        if event.data["entity_id"] == entity_id and new is not None:
            seen.append(new.state)

    hub.bus.async_listen(EVENT_STATE_CHANGED, on_change)
    return seen


async def test_a_junk_discovery_flood_from_one_client_is_admitted_at_its_rate_only(
    web: TestClient, device: FakeDevice, prefix: str
) -> None:
    hub: Hub = web.server.app[HUB_KEY]  # type: ignore[union-attr]
    await device.publish(f"{prefix}/sensor/known/temp/config", device_config(prefix, "known"))
    await wait_until(lambda: hub.states.get("sensor.known_temp"))
    updates = record_states(hub, "sensor.known_temp")
    sent_updates: list[str] = []
    health: asyncio.Task | None = None

    started = time.monotonic()
    for n in range(JUNK):
        await device.client.publish(*junk(prefix, "flood", n))
        if n % 500 == 250:  # the known device keeps reporting during the flood
            sent_updates.append(str(n))
            await device.publish(f"{prefix}/known/temp", str(n))
        if n == JUNK // 2:  # a real device joins in the middle of it
            await device.publish(
                f"{prefix}/sensor/legit/temp/config", device_config(prefix, "legit"), retain=True
            )
            health = asyncio.create_task(web.get("/healthz"))
    await wait_until(lambda: hub.states.get("sensor.legit_temp"), timeout=30)
    await wait_until(lambda: updates[-1:] == sent_updates[-1:], timeout=30)

    assert health is not None
    assert (await health).status == 200  # answered while the flood was coming in
    assert updates == sent_updates  # every update of the known device, in order
    # The junk client's share, and the known and legit devices.
    await assert_admitted_at_rate(
        hub, started, DISCOVERY_CLIENT_BURST, DISCOVERY_CLIENT_PER_S, others=2
    )


async def test_junk_from_many_clients_is_bounded_by_the_hubs_rate(
    web: TestClient, device: FakeDevice, prefix: str
) -> None:
    hub: Hub = web.server.app[HUB_KEY]  # type: ignore[union-attr]
    client = runtime(hub).client
    received = client.received
    started = time.monotonic()
    for n in range(3_000):  # each from a node id of its own, as an anonymous broker allows
        await device.client.publish(*junk(prefix, f"node{n}", n))
    await wait_until(lambda: client.received >= received + 3_000, timeout=30)

    persisted = await assert_admitted_at_rate(
        hub, started, DISCOVERY_TOTAL_BURST, DISCOVERY_TOTAL_PER_S, others=0
    )
    assert persisted > 0
    assert (await web.get("/healthz")).status == 200
