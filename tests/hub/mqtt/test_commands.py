"""Controls: services on switch, light, button, number and select publish real commands."""

from __future__ import annotations

import json

import pytest

from hub.core.errors import ServiceValidationError
from hub.core.hub import Hub
from tests.hub.mqtt.device import FakeDevice
from tests.support.waiting import wait_until


async def _discover(hub: Hub, device: FakeDevice, topic: str, config: dict, entity_id: str) -> None:
    await device.publish(topic, config, retain=True)
    await wait_until(lambda: hub.states.get(entity_id))


async def test_switch_commands_and_state_echo(hub: Hub, device: FakeDevice, prefix: str) -> None:
    cmd, stat = f"{prefix}/plug/cmnd/POWER", f"{prefix}/plug/stat/POWER"
    await device.watch(cmd)
    await _discover(
        hub,
        device,
        f"{prefix}/switch/plug/power/config",
        {
            "name": "Plug",
            "cmd_t": cmd,
            "stat_t": stat,
            "pl_on": "1",
            "pl_off": "0",
            "stat_on": "ON",
            "stat_off": "OFF",
        },
        "switch.plug",
    )
    await hub.services.async_call("switch", "turn_on", {"entity_id": "switch.plug"})
    await wait_until(lambda: device.messages_on(cmd) == ["1"])
    assert hub.states.get("switch.plug").state == "unknown"  # not optimistic: waits for echo
    await device.publish(stat, "ON")
    await wait_until(lambda: hub.states.get("switch.plug").state == "on")
    await hub.services.async_call("switch", "toggle", {"entity_id": "switch.plug"})
    await wait_until(lambda: device.messages_on(cmd) == ["1", "0"])


async def test_optimistic_switch_without_state_topic(
    hub: Hub, device: FakeDevice, prefix: str
) -> None:
    await _discover(
        hub,
        device,
        f"{prefix}/switch/o/config",
        {"name": "Opt", "cmd_t": f"{prefix}/o/set"},
        "switch.opt",
    )
    await hub.services.async_call("switch", "turn_on", {"entity_id": "switch.opt"})
    assert hub.states.get("switch.opt").state == "on"


async def test_light_default_schema_with_brightness(
    hub: Hub, device: FakeDevice, prefix: str
) -> None:
    base = f"{prefix}/lamp"
    await device.watch(f"{base}/#")
    await _discover(
        hub,
        device,
        f"{prefix}/light/lamp/config",
        {
            "~": base,
            "name": "Lamp",
            "cmd_t": "~/set",
            "stat_t": "~/state",
            "bri_cmd_t": "~/bri/set",
            "bri_stat_t": "~/bri",
            "bri_scl": 100,
        },
        "light.lamp",
    )
    await hub.services.async_call(
        "light", "turn_on", {"entity_id": "light.lamp", "brightness": 255}
    )
    await wait_until(lambda: device.messages_on(f"{base}/set") == ["ON"])
    assert device.messages_on(f"{base}/bri/set") == ["100"]
    await device.publish(f"{base}/state", "ON")
    await device.publish(f"{base}/bri", "50")
    await wait_until(lambda: hub.states.get("light.lamp").attributes.get("brightness") == 128)
    assert hub.states.get("light.lamp").state == "on"
    with pytest.raises(ServiceValidationError, match="between 0 and 255"):
        await hub.services.async_call(
            "light", "turn_on", {"entity_id": "light.lamp", "brightness": 900}
        )


async def test_light_json_schema_like_zigbee2mqtt(
    hub: Hub, device: FakeDevice, prefix: str
) -> None:
    base = f"{prefix}/z2m/bulb"
    await device.watch(f"{base}/set")
    await _discover(
        hub,
        device,
        f"{prefix}/light/0x01/light/config",
        {
            "name": "Bulb",
            "schema": "json",
            "brightness": True,
            "cmd_t": f"{base}/set",
            "stat_t": base,
            "uniq_id": "0x01_light",
        },
        "light.bulb",
    )
    await device.publish(base, {"state": "ON", "brightness": 254})
    await wait_until(lambda: hub.states.get("light.bulb").state == "on")
    assert hub.states.get("light.bulb").attributes["brightness"] == 254
    await hub.services.async_call("light", "turn_on", {"entity_id": "light.bulb", "brightness": 10})
    await hub.services.async_call("light", "turn_off", {"entity_id": "light.bulb"})
    await wait_until(lambda: len(device.messages_on(f"{base}/set")) == 2)
    sent = [json.loads(m) for m in device.messages_on(f"{base}/set")]
    assert sent == [{"state": "ON", "brightness": 10}, {"state": "OFF"}]


async def test_button_number_and_select(hub: Hub, device: FakeDevice, prefix: str) -> None:
    base = f"{prefix}/radar"
    await device.watch(f"{base}/set/#")
    await _discover(
        hub,
        device,
        f"{prefix}/button/radar/restart/config",
        {"name": "Restart", "cmd_t": f"{base}/set/restart", "pl_prs": "go"},
        "button.restart",
    )
    await _discover(
        hub,
        device,
        f"{prefix}/number/radar/dist/config",
        {
            "name": "Max distance",
            "cmd_t": f"{base}/set/max",
            "stat_t": f"{base}/max",
            "min": 0.75,
            "max": 6,
            "step": 0.75,
            "unit_of_meas": "m",
        },
        "number.max_distance",
    )
    await _discover(
        hub,
        device,
        f"{prefix}/select/radar/sens/config",
        {
            "name": "Sensitivity",
            "cmd_t": f"{base}/set/sens",
            "stat_t": f"{base}/sens",
            "ops": ["low", "medium", "high"],
        },
        "select.sensitivity",
    )
    await hub.services.async_call("button", "press", {"entity_id": "button.restart"})
    await hub.services.async_call(
        "number", "set_value", {"entity_id": "number.max_distance", "value": "4.5"}
    )
    await hub.services.async_call(
        "select", "select_option", {"entity_id": "select.sensitivity", "option": "high"}
    )
    await wait_until(lambda: len([t for t, _, _ in device.received if "/set/" in t]) == 3)
    assert device.messages_on(f"{base}/set/restart") == ["go"]
    assert device.messages_on(f"{base}/set/max") == ["4.5"]
    assert device.messages_on(f"{base}/set/sens") == ["high"]
    assert hub.states.get("button.restart").state != "unknown"

    with pytest.raises(ServiceValidationError, match="outside"):
        await hub.services.async_call(
            "number", "set_value", {"entity_id": "number.max_distance", "value": 9}
        )
    with pytest.raises(ServiceValidationError, match="not one of"):
        await hub.services.async_call(
            "select", "select_option", {"entity_id": "select.sensitivity", "option": "max"}
        )
    with pytest.raises(ServiceValidationError, match="no select entity"):
        await hub.services.async_call(
            "select", "select_option", {"entity_id": "select.nope", "option": "low"}
        )

    await device.publish(f"{base}/sens", "medium")
    await device.publish(f"{base}/sens", "bogus")  # not an option: ignored
    await device.publish(f"{base}/max", "3")
    await wait_until(lambda: hub.states.get("number.max_distance").state == "3")
    assert hub.states.get("select.sensitivity").state == "medium"
