"""Snapshot content per REMOTE.md for a detector-like device: each shared entity with its
controls (a number's range, a select's options), and a remote setting change that the device
confirms, refused when out of range with the hub's own reason."""

from __future__ import annotations

import json

from tests.hub.ethos_remote.home import RemoteHome
from tests.hub.mqtt.device import FakeDevice
from tests.support.waiting import wait_until

DISTANCE, SENSITIVITY = "number.radar_max_distance", "select.radar_sensitivity"


async def _detector(device: FakeDevice, prefix: str) -> str:
    base = f"{prefix}/radar"
    dev = {"ids": [f"{prefix}-radar"], "name": "Radar"}
    number = {
        "name": "Max distance", "uniq_id": "radar_dist", "cmd_t": f"{base}/set/max",
        "stat_t": f"{base}/max", "min": 0.75, "max": 6, "step": 0.75, "dev": dev,
    }  # fmt: skip
    select = {
        "name": "Sensitivity", "uniq_id": "radar_sens", "cmd_t": f"{base}/set/sens",
        "stat_t": f"{base}/sens", "ops": ["low", "medium", "high"], "dev": dev,
    }  # fmt: skip
    await device.publish(f"{prefix}/number/radar/dist/config", json.dumps(number), retain=True)
    await device.publish(f"{prefix}/select/radar/sens/config", json.dumps(select), retain=True)
    return base


async def test_snapshot_lists_controls_and_a_remote_setting_is_applied(
    remote_home: RemoteHome, mqtt_broker_url: str, prefix: str
) -> None:
    home = remote_home
    async with FakeDevice.connect(mqtt_broker_url) as device:
        base = await _detector(device, prefix)
        await wait_until(lambda: home.hub.states.get(DISTANCE) and home.hub.states.get(SENSITIVITY))
        await device.publish(f"{base}/max", "3")
        await wait_until(lambda: home.hub.states.get(DISTANCE).state == "3")
        await device.watch(f"{base}/set/#")
        await home.share(DISTANCE, SENSITIVITY)
        await home.wait_connected()
        async with home.browser(await home.pairing_code()) as phone:
            await wait_until(lambda: phone.latest_snapshot() is not None)
            snapshot = phone.latest_snapshot()
            assert snapshot["type"] == "snapshot" and snapshot["hub_name"]
            entities = {e["entity_id"]: e for e in snapshot["entities"]}
            distance, sensitivity = entities[DISTANCE], entities[SENSITIVITY]
            assert distance["device"] == "Radar" and distance["room"] is None
            assert distance["state"] == "3"
            assert distance["controls"] == [
                {"service": "number.set_value", "label": "Set", "field": "value",
                 "min": 0.75, "max": 6, "step": 0.75},
            ]  # fmt: skip
            assert sensitivity["controls"] == [
                {"service": "select.select_option", "label": "Choose", "field": "option",
                 "options": ["low", "medium", "high"]},
            ]  # fmt: skip

            command = await phone.send(DISTANCE, "number.set_value", {"value": 4.5})
            assert (await phone.reply_to(command))["ok"] is True
            await wait_until(lambda: device.messages_on(f"{base}/set/max") == ["4.5"])
            await device.publish(f"{base}/max", "4.5")  # the device confirms
            await wait_until(lambda: phone.latest_snapshot()["entities"][0]["state"] == "4.5")

            too_far = await phone.send(DISTANCE, "number.set_value", {"value": 9})
            answer = await phone.reply_to(too_far)
            assert answer["ok"] is False and "outside" in answer["error"]
            option = await phone.send(SENSITIVITY, "select.select_option", {"option": "high"})
            assert (await phone.reply_to(option))["ok"] is True
            await wait_until(lambda: device.messages_on(f"{base}/set/sens") == ["high"])
