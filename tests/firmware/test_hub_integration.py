"""The firmware's discovery payloads through the hub's MQTT integration (hub/integrations/mqtt).

First fed straight into the integration's public ``async_process_discovery_message``, then
end to end: the simulated device and a running hub on the same broker, the hub discovering,
showing and controlling it. The device uses the hub test's own discovery prefix so runs on
a shared Mosquitto stay apart.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path

import ha_discovery
import pytest

from firmware.simulator.radar import RadarTarget
from hub.core.hub import Hub
from hub.integrations.mqtt.runtime import mqtt_runtime
from tests.firmware.mqtt_support import (
    DeviceThread,
    clear_retained,
    finish,
    host_port,
    simulate,
)
from tests.hub.common import StartedHubs, make_config
from tests.support.waiting import wait_until


@pytest.fixture
def prefix(unique_id: str) -> str:
    return f"ha_fw_{unique_id}"


@pytest.fixture
def serial(unique_id: str) -> str:
    return f"EPD-H{unique_id}"


@pytest.fixture
async def hub(tmp_path: Path, mqtt_broker_url: str, prefix: str, serial: str) -> AsyncIterator[Hub]:
    config = make_config(
        tmp_path, integrations=("mqtt",), mqtt_url=mqtt_broker_url, discovery_prefix=prefix
    )
    hubs = StartedHubs()
    try:
        yield await hubs.async_start(Hub(config))
    finally:
        await hubs.async_stop_all()
        # The hub's own birth/will is retained under the test prefix too.
        await clear_retained(mqtt_broker_url, serial, prefix, f"{prefix}/status")


def entity_ids(hub: Hub) -> dict[str, str]:
    """discovery object id -> hub entity id."""
    return {
        record.discovery_topic.split("/")[-2]: record.entity_id
        for record in mqtt_runtime(hub).discovery.discovered()
    }


async def test_every_discovery_payload_is_accepted_by_the_hub(hub: Hub, prefix: str, serial: str):
    discovery = mqtt_runtime(hub).discovery
    for topic, payload in ha_discovery.discovery_messages(serial, prefix):
        await discovery.async_process_discovery_message(topic, payload)
    assert discovery.ignored == 0
    ids = entity_ids(hub)
    assert len(ids) == 14
    assert ids["occupancy"].startswith("binary_sensor.")
    assert ids["hold_time"].startswith("number.") and ids["sensitivity"].startswith("select.")
    device_id = hub.entities.get(ids["occupancy"]).device_id
    device = hub.devices.get(device_id)
    assert ["mqtt", f"ethos:{serial}"] in [list(i) for i in device.identifiers]
    assert (device.manufacturer, device.sw_version) == ("Ethos", "0.1.0")
    hold = hub.states.get(ids["hold_time"])
    assert (hold.attributes["min"], hold.attributes["max"]) == (1, 3600)
    assert hub.states.get(ids["sensitivity"]).attributes["options"] == ["low", "medium", "high"]
    # Every entity of the device shares that one device.
    assert {hub.entities.get(e).device_id for e in ids.values()} == {device_id}


async def test_the_hub_discovers_shows_and_controls_the_simulated_device(
    hub: Hub, mqtt_broker_url: str, prefix: str, serial: str
):
    device = DeviceThread(
        serial, host_port(mqtt_broker_url), {"on_latency": 0}, discovery_prefix=prefix
    ).start()
    try:
        await wait_until(lambda: len(entity_ids(hub)) == 14)
        ids = entity_ids(hub)
        occupancy, hold, sensitivity = ids["occupancy"], ids["hold_time"], ids["sensitivity"]
        await wait_until(lambda: hub.states.get(occupancy).state == "off")
        await wait_until(lambda: hub.states.get(hold).state == "15")

        device.scene.target = RadarTarget(2, 0, 0, 210, 66)
        await wait_until(lambda: hub.states.get(occupancy).state == "on")
        await wait_until(lambda: hub.states.get(ids["still_distance"]).state == "210")

        await hub.services.async_call("number", "set_value", {"entity_id": hold, "value": 45})
        await hub.services.async_call(
            "select", "select_option", {"entity_id": sensitivity, "option": "low"}
        )
        await wait_until(lambda: hub.states.get(hold).state == "45")  # the device's echo
        await wait_until(lambda: hub.states.get(sensitivity).state == "low")
        assert device.device.fusion.hold_ms == 45000
    finally:
        device.stop()
    await wait_until(lambda: hub.states.get(occupancy).state == "unavailable")


async def test_the_hub_discovers_the_simulator_the_demo_starts(
    hub: Hub, mqtt_broker_url: str, prefix: str, serial: str
):
    process = simulate(serial, mqtt_broker_url, "--discovery-prefix", prefix)
    try:
        await wait_until(lambda: len(entity_ids(hub)) == 14, timeout=20)
        occupancy = entity_ids(hub)["occupancy"]
        await wait_until(lambda: hub.states.get(occupancy).state == "off")
    finally:
        code, log = await finish(process, signal.SIGTERM)
    assert code == 0, log
    await wait_until(lambda: hub.states.get(occupancy).state == "unavailable")
