"""With MQTT_URL unset, the hub uses a broker announced as ``_mqtt._tcp`` on the LAN."""

from __future__ import annotations

from urllib.parse import urlsplit

from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from hub.core.config_entries import EntryState
from tests.hub.mqtt.device import FakeDevice
from tests.hub.zeroconf.conftest import LOOPBACK, runtime
from tests.support.processes import free_port
from tests.support.waiting import wait_until

MQTT_TYPE = "_mqtt._tcp.local."


def broker_service(name: str, port: int) -> AsyncServiceInfo:
    return AsyncServiceInfo(
        MQTT_TYPE,
        f"{name}.{MQTT_TYPE}",
        port=port,
        parsed_addresses=[LOOPBACK],
        server=f"{name.replace(' ', '-')}.local.",
    )


def mqtt_entries(hub):
    return hub.config_entries.async_entries("mqtt")


# The broker comes first in each signature: it must outlive the hub that uses it.
async def test_an_announced_broker_is_used_and_discovery_works_through_it(
    mqtt_broker_url: str,
    device: FakeDevice,
    start_hub,
    responder: AsyncZeroconf,
    unique_id: str,
) -> None:
    prefix = f"ha_zc_{unique_id}"
    hub = await start_hub(integrations=("mqtt", "zeroconf"), mqtt_url=None, discovery_prefix=prefix)
    assert mqtt_entries(hub) == []
    port = urlsplit(mqtt_broker_url).port or 1883
    await responder.async_register_service(broker_service(f"Broker {unique_id}", port))

    await wait_until(lambda: mqtt_entries(hub) and mqtt_entries(hub)[0].state is EntryState.LOADED)
    entry = mqtt_entries(hub)[0]
    assert entry.data == {"url": f"mqtt://127.0.0.1:{port}", "source": "zeroconf"}
    # The broker really is in use: a device's discovery config becomes an entity.
    await device.publish(
        f"{prefix}/sensor/zc/config", {"name": "Found", "stat_t": f"{prefix}/zc"}, retain=True
    )
    await wait_until(lambda: hub.states.get("sensor.found"))
    await device.publish(f"{prefix}/zc", "21.5")
    await wait_until(lambda: (s := hub.states.get("sensor.found")) and s.state == "21.5")


async def test_a_configured_mqtt_url_wins_over_announcements(
    mqtt_broker_url: str, start_hub, responder: AsyncZeroconf, unique_id: str
) -> None:
    hub = await start_hub(
        integrations=("mqtt", "zeroconf"),
        mqtt_url=mqtt_broker_url,
        discovery_prefix=f"ha_zc_{unique_id}",
    )
    name = f"Other broker {unique_id}.{MQTT_TYPE}"
    await responder.async_register_service(broker_service(f"Other broker {unique_id}", 9))
    await wait_until(lambda: name in runtime(hub).discovery.found)
    [entry] = mqtt_entries(hub)
    assert entry.data["url"] == mqtt_broker_url
    assert entry.state is EntryState.LOADED


async def test_an_unreachable_found_broker_is_replaced_by_the_next_announced(
    mqtt_broker_url: str, start_hub, responder: AsyncZeroconf, unique_id: str
) -> None:
    hub = await start_hub(
        integrations=("mqtt", "zeroconf"), mqtt_url=None, discovery_prefix=f"ha_zc_{unique_id}"
    )
    dead_port = free_port()
    await responder.async_register_service(broker_service(f"Gone {unique_id}", dead_port))
    await wait_until(lambda: mqtt_entries(hub) and mqtt_entries(hub)[0].retries >= 1, timeout=15)
    entry = mqtt_entries(hub)[0]
    assert entry.state is EntryState.SETUP_RETRY
    assert "unreachable" in entry.reason

    port = urlsplit(mqtt_broker_url).port or 1883
    await responder.async_register_service(broker_service(f"Live {unique_id}", port))
    await wait_until(lambda: entry.state is EntryState.LOADED, timeout=15)
    assert entry.data["url"] == f"mqtt://127.0.0.1:{port}"
    assert len(mqtt_entries(hub)) == 1
