"""Broker connection: setup retry, reconnect and resubscribe, bursts, device removal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hub.core.config_entries import EntryState
from hub.integrations.mqtt.runtime import mqtt_runtime
from tests.hub.mqtt.conftest import StartHub, runtime
from tests.hub.mqtt.device import FakeDevice
from tests.hub.mqtt.proxy import CuttableProxy
from tests.support.processes import free_port
from tests.support.waiting import wait_until


@pytest.fixture
async def proxy(mqtt_broker_url: str) -> AsyncIterator[CuttableProxy]:
    proxy = CuttableProxy(mqtt_broker_url, free_port())
    try:
        yield proxy
    finally:
        await proxy.stop()


async def test_broker_down_at_start_is_retried_then_connects(
    start_hub: StartHub,
    proxy: CuttableProxy,
) -> None:
    hub = await start_hub(mqtt_url=proxy.url)  # nothing listens there yet
    entry = hub.config_entries.async_entries("mqtt")[0]
    assert entry.state is EntryState.SETUP_RETRY
    assert "unreachable" in entry.reason
    await proxy.start()
    await wait_until(lambda: entry.state is EntryState.LOADED, timeout=10)
    assert mqtt_runtime(hub).client.connected.is_set()


async def test_reconnects_and_resubscribes_after_the_link_drops(
    start_hub: StartHub,
    proxy: CuttableProxy,
    device: FakeDevice,
    prefix: str,
) -> None:
    await proxy.start()
    hub = await start_hub(mqtt_url=proxy.url)
    client = runtime(hub).client
    await device.publish(f"{prefix}/sensor/r/config", {"name": "R", "stat_t": f"{prefix}/r"})
    await wait_until(lambda: hub.states.get("sensor.r"))
    proxy.cut()
    await wait_until(lambda: not client.connected.is_set())
    await wait_until(lambda: client.connected.is_set(), timeout=10)
    assert client.connections == 2
    await device.publish(f"{prefix}/r", "after")
    await wait_until(lambda: hub.states.get("sensor.r").state == "after")
    # Discovery was resubscribed too.
    await device.publish(f"{prefix}/sensor/r2/config", {"name": "R2", "stat_t": f"{prefix}/r"})
    await wait_until(lambda: hub.states.get("sensor.r2"))


async def test_discovery_burst_is_bounded_and_counted(
    start_hub: StartHub,
    mqtt_broker_url: str,
    device: FakeDevice,
    prefix: str,
) -> None:
    burst = 200
    # Retained before the hub subscribes: the broker sends them all at once, faster than
    # discovery takes new topics in.
    for n in range(burst):
        config = {"name": f"B{n}", "stat_t": f"{prefix}/b"}
        await device.publish(f"{prefix}/sensor/b{n}/config", config, retain=True)
    hub = await start_hub(mqtt_url=None)
    await hub.config_entries.async_add(
        "mqtt", "Broker", {"url": mqtt_broker_url, "discovery_queue_size": 5}
    )
    discovery = runtime(hub).discovery
    await wait_until(lambda: len(discovery.discovered()) + discovery.dropped == burst, timeout=20)
    assert discovery.dropped > 0
    assert len(discovery.discovered()) >= 5
    await device.publish(f"{prefix}/b", "still fine")
    await wait_until(lambda: hub.states.get("sensor.b0").state == "still fine")


async def test_removing_a_device_clears_its_retained_discovery_for_good(
    start_hub: StartHub,
    device: FakeDevice,
    mqtt_broker_url: str,
    prefix: str,
) -> None:
    hub = await start_hub()
    topics = [f"{prefix}/sensor/gone/t/config", f"{prefix}/switch/gone/s/config"]
    dev = {"ids": ["gone-1"], "name": "Gone"}
    await device.publish(topics[0], {"name": "T", "stat_t": f"{prefix}/g", "dev": dev}, retain=True)
    await device.publish(
        topics[1], {"name": "S", "cmd_t": f"{prefix}/g/set", "dev": dev}, retain=True
    )
    await device.publish(
        f"{prefix}/sensor/other/config", {"name": "Other", "stat_t": f"{prefix}/o"}, retain=True
    )
    await wait_until(lambda: len(runtime(hub).discovery.discovered()) == 3)
    device_id = hub.entities.get("sensor.gone_t").device_id

    await device.watch(f"{prefix}/+/gone/+/config")
    await hub.devices.async_remove(device_id)
    await wait_until(lambda: all(device.messages_on(t)[-1:] == [""] for t in topics))
    await wait_until(lambda: hub.states.get("sensor.gone_t") is None)
    await wait_until(lambda: hub.states.get("switch.gone_s") is None)
    assert hub.entities.get("sensor.gone_t") is None
    assert hub.states.get("sensor.other") is not None

    async with FakeDevice.connect(mqtt_broker_url) as observer:
        await observer.watch(f"{prefix}/#")
        await asyncio.sleep(0.3)
        retained = {t for t, payload, _ in observer.received if payload and t.endswith("/config")}
    assert retained == {f"{prefix}/sensor/other/config"}

    await hub.async_stop()
    restarted = await start_hub()
    await wait_until(lambda: restarted.states.get("sensor.other"))
    assert restarted.states.get("sensor.gone_t") is None
    assert restarted.devices.get(device_id) is None
