"""Presence drives the home: the owner applies "Lights follow presence" from the presence
page; the firmware simulator's person walks in and the simulated MQTT light turns on;
they leave and it turns off after the delay; the trace says why. Real hub, real broker
(amqtt by default, Mosquitto in e2e); the off-delay runs on the test's clock."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from firmware.simulator.firmware_path import ensure_firmware_importable
from firmware.simulator.light import LightOptions, SimulatedLight
from hub.core.hub import Hub
from hub.integrations.automation import ManualClock, automation_engine
from hub.integrations.automation import trace as outcome
from hub.integrations.automation.const import DATA_CLOCK
from hub.integrations.ethos_presence import find_detector
from hub.web.app import create_app
from tests.hub.common import make_config
from tests.hub.web.conftest import SignedIn

ensure_firmware_importable()

from firmware.simulator.radar import NO_TARGET, RadarTarget  # noqa: E402
from hub.integrations.mqtt.runtime import mqtt_runtime  # noqa: E402
from tests.firmware.mqtt_support import DeviceThread, clear_retained, host_port  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402


@pytest.fixture
def prefix(unique_id: str) -> str:
    return f"ha_auto_{unique_id}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 6, 10, 20, 0, tzinfo=UTC))


@pytest.fixture
def hub_app(
    tmp_path: Path, mqtt_broker_url: str, prefix: str, clock: ManualClock
) -> web.Application:
    config = make_config(
        tmp_path,
        integrations=("mqtt", "ethos_presence", "automation"),
        mqtt_url=mqtt_broker_url,
        discovery_prefix=prefix,
        time_zone="UTC",
        cloud_url="http://127.0.0.1:9",
    )
    hub = Hub(config)
    hub.data[DATA_CLOCK] = clock
    return create_app(config, hub)


@dataclass
class Room:
    detector: DeviceThread
    device_id: str
    light: SimulatedLight
    light_entity: str


@pytest.fixture
async def light(mqtt_broker_url: str, prefix: str, unique_id: str) -> AsyncIterator[SimulatedLight]:
    simulated = SimulatedLight(
        LightOptions(
            mqtt_broker_url,
            base=f"sim_{unique_id}/light",
            node_id=f"light_{unique_id}",
            name="Office lamp",
            discovery_prefix=prefix,
        )
    )
    stop = threading.Event()
    thread = threading.Thread(target=simulated.run, args=(stop,), daemon=True)
    thread.start()
    yield simulated
    stop.set()
    thread.join(5)
    base = simulated.options.base
    await clear_retained(
        mqtt_broker_url, simulated.options.node_id, prefix, f"{base}/state", f"{base}/status"
    )


@pytest.fixture
async def room(
    owner: SignedIn,
    light: SimulatedLight,
    mqtt_broker_url: str,
    prefix: str,
    unique_id: str,
) -> AsyncIterator[Room]:
    serial = f"EPD-A{unique_id}"
    detector = DeviceThread(
        serial,
        host_port(mqtt_broker_url),
        {"on_latency": 0, "hold_time": 1},
        discovery_prefix=prefix,
    ).start()
    hub = owner.hub
    try:
        await wait_until(lambda: _detector(hub, serial) is not None, 15)
        await wait_until(lambda: _light(hub) is not None, 15)
        yield Room(detector, _detector(hub, serial), light, _light(hub))
    finally:
        detector.stop()
        await clear_retained(mqtt_broker_url, serial, prefix, f"{prefix}/status")


def _detector(hub: Hub, serial: str) -> str | None:
    for device in hub.devices.async_all():
        if ["mqtt", f"ethos:{serial}"] in [list(i) for i in device.identifiers]:
            found = find_detector(hub, device.id)
            if found is not None and "target" in found.roles:
                return device.id
    return None


def _light(hub: Hub) -> str | None:
    lights = [s.entity_id for s in hub.states.async_all("light") if s.state in ("on", "off")]
    return lights[0] if lights else None


async def test_lights_follow_presence_from_the_presence_page(
    owner: SignedIn,
    room: Room,
    clock: ManualClock,
) -> None:
    hub = owner.hub
    page = await (await owner.client.get(f"/devices/{room.device_id}")).text()
    assert 'id="lights-follow-presence"' in page
    assert f'<option value="{room.light_entity}">Office lamp</option>' in page

    answer = await owner.client.post(
        f"/devices/{room.device_id}/presence/lights",
        data=owner.form(light=room.light_entity, off_after="2"),
        allow_redirects=False,
    )
    assert answer.status == 303
    automation_id = answer.headers["Location"].rsplit("/", 1)[-1]
    engine = automation_engine(hub)
    assert automation_id in engine.automations
    occupancy = find_detector(hub, room.device_id).roles["occupancy"]

    # Someone walks in: the radar sees them moving; the light turns on.
    room.detector.scene.target = RadarTarget(1, 150, 80, 0, 0)
    await wait_until(lambda: room.light.on, 15)
    await wait_until(lambda: hub.states.get(room.light_entity).state == "on")

    # They sit still: still on. They leave: vacant after the detector's hold time, and the
    # light stays on for two minutes of vacancy, then turns off.
    room.detector.scene.target = RadarTarget(2, 0, 0, 150, 55)
    room.detector.scene.target = NO_TARGET
    await wait_until(lambda: hub.states.get(occupancy).state == "off", 15)
    await clock.async_advance(119)
    assert room.light.on
    await clock.async_advance(1)
    await wait_until(lambda: not room.light.on, 15)

    trace = engine.traces.of(automation_id)[-1]
    assert trace.outcome == outcome.FINISHED
    assert trace.trigger == f"{occupancy} vacant for 2 min"
    assert [s.result for s in trace.steps] == [
        "chose option 2",
        f"called light.turn_off on {room.light_entity}",
    ]
    page = await (await owner.client.get(f"/automations/{automation_id}")).text()
    assert f"It last ran because <strong>{occupancy} vacant for 2 min</strong>" in page

    # Applying again updates the same automation (one per room).
    await owner.client.post(
        f"/devices/{room.device_id}/presence/lights",
        data=owner.form(light=room.light_entity, off_after="5"),
    )
    assert len(engine.automations) == 1
    bad = await owner.client.post(
        f"/devices/{room.device_id}/presence/lights",
        data=owner.form(light="light.nowhere", off_after="5"),
    )
    assert bad.status == 400


async def test_an_mqtt_trigger_fires_on_its_topic_and_payload(
    owner: SignedIn,
    device,
    unique_id: str,
) -> None:
    hub = owner.hub
    hub.services.async_register("test", "record", _record := _Recorder())
    engine = automation_engine(hub)
    topic = f"z2m_{unique_id}/button/action"
    await engine.async_save(
        None,
        {
            "id": "button",
            "triggers": [
                {"trigger": "mqtt", "topic": topic, "payload": "on"},
                {
                    "trigger": "mqtt",
                    "topic": f"z2m_{unique_id}/button",
                    "value_template": "{{ value_json.action }}",
                    "payload": "off",
                },
            ],
            "actions": [{"action": "test.record", "data": {"payload": "{{ trigger.payload }}"}}],
        },
        "Olivia",
    )
    await wait_until(
        lambda: mqtt_runtime(hub) is not None and mqtt_runtime(hub).client.connected.is_set(), 10
    )
    await _published_until_seen(device, topic, "on", _record)
    await device.publish(topic, "brighten")  # another payload: nothing
    await device.publish(f"z2m_{unique_id}/button", '{"action": "off"}')
    await wait_until(lambda: len(_record.payloads) >= 2, 10)
    assert _record.payloads[-1] == {"action": "off"}  # rendered: native types
    assert "brighten" not in _record.payloads


class _Recorder:
    def __init__(self) -> None:
        self.payloads: list[str] = []

    async def __call__(self, call) -> None:
        self.payloads.append(call.data["payload"])


async def _published_until_seen(device, topic: str, payload: str, record: _Recorder) -> None:
    """The subscription is made in the background: publish until the first one arrives."""
    for _ in range(50):
        await device.publish(topic, payload)
        try:
            await wait_until(lambda: payload in record.payloads, 0.2)
            return
        except AssertionError:
            continue
    raise AssertionError("the MQTT trigger never fired")
