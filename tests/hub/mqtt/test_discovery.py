"""Home Assistant discovery through a real broker: both topic forms, keys, templates, removal."""

from __future__ import annotations

import json

from hub.core.hub import Hub
from tests.hub.mqtt.conftest import StartHub, runtime
from tests.hub.mqtt.device import FakeDevice
from tests.support.waiting import wait_until


def tasmota_like(base: str) -> dict:
    return {
        "~": base,
        "name": "Temperature",
        "uniq_id": "plug1_temp",
        "stat_t": "~/SENSOR",
        "val_tpl": "{{ value_json.ENERGY.Temperature | round(1) }}",
        "unit_of_meas": "°C",
        "dev_cla": "temperature",
        "stat_cla": "measurement",
        "dev": {"ids": ["plug1"], "name": "Plug 1", "mf": "Tasmota", "mdl": "S26", "sw": "13.1"},
    }


async def test_classic_topic_with_abbreviations_base_topic_and_template(
    hub: Hub, device: FakeDevice, prefix: str
) -> None:
    await device.publish(
        f"{prefix}/sensor/plug1/temp/config", tasmota_like(f"{prefix}/tele/plug1"), retain=True
    )
    await wait_until(lambda: hub.states.get("sensor.plug_1_temperature"))
    state = hub.states.get("sensor.plug_1_temperature")
    assert state.state == "unknown"
    assert state.attributes["unit_of_measurement"] == "°C"
    assert state.attributes["device_class"] == "temperature"

    await device.publish(f"{prefix}/tele/plug1/SENSOR", {"ENERGY": {"Temperature": 21.46}})
    await wait_until(lambda: hub.states.get("sensor.plug_1_temperature").state == "21.5")

    row = hub.entities.get("sensor.plug_1_temperature")
    dev = hub.devices.get(row.device_id)
    assert (dev.name, dev.manufacturer, dev.model, dev.sw_version) == (
        "Plug 1",
        "Tasmota",
        "S26",
        "13.1",
    )
    assert ["mqtt", "plug1"] in dev.identifiers


async def test_device_form_with_components_shared_device_and_removal_of_one(
    hub: Hub, device: FakeDevice, prefix: str
) -> None:
    topic = f"{prefix}/device/epd123/config"
    config = {
        "dev": {"ids": "ethos:EPD-000123", "name": "Presence", "mf": "Ethos", "mdl": "EPD-1"},
        "o": {"name": "ethos-fw", "sw": "1.0"},
        "~": f"{prefix}/ethos/EPD-000123",
        "stat_t": "~/state",
        "avty_t": "~/status",
        "cmps": {
            "occupancy": {
                "p": "binary_sensor",
                "uniq_id": "EPD-000123_occ",
                "name": "Occupancy",
                "dev_cla": "occupancy",
                "val_tpl": "{{ 'ON' if value_json.occupied else 'OFF' }}",
            },
            "distance": {
                "p": "sensor",
                "uniq_id": "EPD-000123_dist",
                "name": "Distance",
                "unit_of_meas": "cm",
                "val_tpl": "{{ value_json.distance }}",
            },
            "hold": {
                "p": "number",
                "uniq_id": "EPD-000123_hold",
                "name": "Hold time",
                "cmd_t": "~/set/hold",
                "min": 1,
                "max": 600,
                "val_tpl": "{{ value_json.hold }}",
            },
        },
    }
    await device.publish(topic, config, retain=True)
    await wait_until(lambda: len(runtime(hub).discovery.discovered()) == 3)
    occupancy, distance = "binary_sensor.presence_occupancy", "sensor.presence_distance"
    assert hub.states.get(occupancy).state == "unavailable"  # until the device says online

    await device.publish(f"{prefix}/ethos/EPD-000123/status", "online", retain=True)
    await device.publish(
        f"{prefix}/ethos/EPD-000123/state", {"occupied": True, "distance": 142, "hold": 30}
    )
    await wait_until(lambda: hub.states.get(distance).state == "142")
    assert hub.states.get(occupancy).state == "on"
    assert hub.states.get("number.presence_hold_time").state == "30"
    device_ids = {hub.entities.get(e).device_id for e in (occupancy, distance)}
    assert len(device_ids) == 1
    assert ["mqtt", "ethos:EPD-000123"] in hub.devices.get(device_ids.pop()).identifiers

    # A component reduced to its platform key is removed; the others stay.
    config["cmps"]["distance"] = {"p": "sensor"}
    await device.publish(topic, config, retain=True)
    await wait_until(lambda: hub.states.get(distance) is None)
    assert hub.states.get(occupancy).state == "on"


async def test_empty_retained_payload_removes_the_entity(
    hub: Hub, device: FakeDevice, prefix: str
) -> None:
    topic = f"{prefix}/switch/relay/config"
    await device.publish(topic, {"name": "Relay", "cmd_t": f"{prefix}/relay/set"}, retain=True)
    await wait_until(lambda: hub.states.get("switch.relay"))
    await device.publish(topic, "", retain=True)
    await wait_until(lambda: hub.states.get("switch.relay") is None)


async def test_availability_modes_and_templates(hub: Hub, device: FakeDevice, prefix: str) -> None:
    base = {
        "stat_t": f"{prefix}/multi/state",
        "avty": [
            {"t": f"{prefix}/multi/a"},
            {"t": f"{prefix}/multi/b", "pl_avail": "up", "pl_not_avail": "down"},
        ],
    }
    await device.publish(f"{prefix}/sensor/all/config", {**base, "name": "All", "avty_mode": "all"})
    await device.publish(f"{prefix}/sensor/any/config", {**base, "name": "Any", "avty_mode": "any"})
    await device.publish(f"{prefix}/sensor/latest/config", {**base, "name": "Latest"})
    await device.publish(
        f"{prefix}/sensor/tpl/config",
        {
            "name": "Tpl",
            "stat_t": f"{prefix}/multi/state",
            "avty_t": f"{prefix}/multi/json",
            "avty_tpl": "{{ 'online' if value_json.up else 'offline' }}",
        },
    )
    await wait_until(lambda: hub.states.get("sensor.tpl"))
    await device.publish(f"{prefix}/multi/state", "7")
    await device.publish(f"{prefix}/multi/a", "online")
    await wait_until(lambda: hub.states.get("sensor.any").state == "7")
    assert hub.states.get("sensor.all").state == "unavailable"
    assert hub.states.get("sensor.latest").state == "7"

    await device.publish(f"{prefix}/multi/b", "down")
    await wait_until(lambda: hub.states.get("sensor.latest").state == "unavailable")
    assert hub.states.get("sensor.any").state == "7"
    await device.publish(f"{prefix}/multi/b", "up")
    await wait_until(lambda: hub.states.get("sensor.all").state == "7")

    assert hub.states.get("sensor.tpl").state == "unavailable"
    await device.publish(f"{prefix}/multi/json", json.dumps({"up": True}))
    await wait_until(lambda: hub.states.get("sensor.tpl").state == "7")


async def test_expire_after_makes_a_silent_sensor_unavailable(
    hub: Hub, device: FakeDevice, prefix: str
) -> None:
    await device.publish(
        f"{prefix}/sensor/exp/config",
        {"name": "Exp", "stat_t": f"{prefix}/exp/state", "exp_aft": 1},
    )
    await wait_until(lambda: hub.states.get("sensor.exp"))
    assert hub.states.get("sensor.exp").state == "unavailable"
    await device.publish(f"{prefix}/exp/state", "3")
    await wait_until(lambda: hub.states.get("sensor.exp").state == "3")
    await wait_until(lambda: hub.states.get("sensor.exp").state == "unavailable", timeout=3)


async def test_birth_message_is_sent_when_the_hub_connects(
    start_hub: StartHub,
    device: FakeDevice,
    prefix: str,
) -> None:
    await device.watch(f"{prefix}/status")
    await start_hub()
    await wait_until(lambda: device.messages_on(f"{prefix}/status") == ["online"])


async def test_json_attributes_topic_sets_attributes(
    hub: Hub, device: FakeDevice, prefix: str
) -> None:
    await device.publish(
        f"{prefix}/sensor/att/config",
        {"name": "Att", "stat_t": f"{prefix}/att/state", "json_attr_t": f"{prefix}/att/attrs"},
    )
    await wait_until(lambda: hub.states.get("sensor.att"))
    await device.publish(f"{prefix}/att/attrs", {"linkquality": 87})
    await wait_until(lambda: hub.states.get("sensor.att").attributes.get("linkquality") == 87)
