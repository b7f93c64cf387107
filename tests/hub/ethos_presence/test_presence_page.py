"""The presence detector's page with the firmware simulator on the test broker: live
occupancy, radar distance and energy, the presence timeline, settings confirmed by echo."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from firmware.simulator.firmware_path import ensure_firmware_importable
from hub.core.hub import Hub
from hub.integrations.ethos_presence import find_detector, settings_changer
from hub.web.app import create_app
from tests.hub.common import make_config
from tests.hub.web.conftest import SignedIn

ensure_firmware_importable()

from firmware.simulator.radar import RadarTarget  # noqa: E402
from tests.firmware.mqtt_support import (  # noqa: E402
    DeviceThread,
    clear_retained,
    host_port,
)
from tests.support.waiting import wait_until  # noqa: E402


@pytest.fixture
def prefix(unique_id: str) -> str:
    return f"ha_presence_{unique_id}"


@pytest.fixture
def serial(unique_id: str) -> str:
    return f"EPD-P{unique_id}"


@pytest.fixture
def hub_app(tmp_path: Path, mqtt_broker_url: str, prefix: str) -> web.Application:
    config = make_config(
        tmp_path,
        integrations=("mqtt", "ethos_presence"),
        mqtt_url=mqtt_broker_url,
        discovery_prefix=prefix,
        cloud_url="http://127.0.0.1:9",
    )
    return create_app(config)


@pytest.fixture
async def detector(
    owner: SignedIn, mqtt_broker_url: str, prefix: str, serial: str
) -> AsyncIterator[DeviceThread]:
    device = DeviceThread(
        serial, host_port(mqtt_broker_url), {"on_latency": 0}, discovery_prefix=prefix
    ).start()
    try:
        await wait_until(lambda: _device_id(owner.hub, serial) is not None)
        yield device
    finally:
        device.stop()
        await clear_retained(mqtt_broker_url, serial, prefix, f"{prefix}/status")


def _device_id(hub: Hub, serial: str) -> str | None:
    for device in hub.devices.async_all():
        if ["mqtt", f"ethos:{serial}"] in [list(i) for i in device.identifiers]:
            found = find_detector(hub, device.id)
            if found is not None and len(found.roles) >= 11:
                return device.id
    return None


async def _next_state(stream: web.StreamResponse, entity_id: str, state: str) -> None:
    """Read Server-Sent Events until ``entity_id`` reports ``state``."""
    while True:
        line = (await stream.content.readline()).decode()  # type: ignore[attr-defined]
        if line.startswith("data: "):
            item = json.loads(line[6:])
            if item["entity_id"] == entity_id and item["state"] == state:
                return


async def test_the_page_shows_occupancy_live_with_readings_and_history(
    owner: SignedIn, detector: DeviceThread, serial: str
) -> None:
    device_id = _device_id(owner.hub, serial)
    assert device_id is not None
    found = find_detector(owner.hub, device_id)
    assert found is not None
    occupancy = found.roles["occupancy"]
    await wait_until(lambda: owner.hub.states.get(occupancy).state == "off")
    page = await (await owner.client.get(f"/devices/{device_id}")).text()
    assert 'id="presence-occupancy"' in page and f'data-state-of="{occupancy}">off<' in page
    assert 'id="presence-moving"' in page and 'id="presence-still"' in page
    assert 'id="presence-history"' in page and "Presence, last 6 hours" in page

    stream = await owner.client.get("/api/stream")
    detector.scene.target = RadarTarget(2, 0, 0, 210, 66)
    await asyncio.wait_for(_next_state(stream, occupancy, "on"), 10)
    stream.close()
    await wait_until(lambda: owner.hub.states.get(found.roles["still_distance"]).state == "210")

    page = await (await owner.client.get(f"/devices/{device_id}")).text()
    assert f'data-state-of="{occupancy}">on<' in page
    assert f'data-state-of="{found.roles["still_distance"]}">210<' in page
    assert f'data-state-of="{found.roles["still_energy"]}">66<' in page
    # The timeline now has an "on" band (a <rect class="band"> titled with the state).
    assert '<rect class="band"' in page and "<title>on from" in page
    hour = await (await owner.client.get(f"/devices/{device_id}?presence_hours=1")).text()
    assert "Presence, last 1 hour" in hour and "<title>on from" in hour
    odd = await owner.client.get(f"/devices/{device_id}?presence_hours=lots")
    assert odd.status == 200 and "Presence, last 6 hours" in await odd.text()


async def test_a_setting_is_sent_and_confirmed_by_the_device_echo(
    owner: SignedIn, detector: DeviceThread, serial: str
) -> None:
    device_id = _device_id(owner.hub, serial)
    url = f"/devices/{device_id}/presence/settings"
    page = await (await owner.client.get(f"/devices/{device_id}")).text()
    for key in ("hold_time", "on_latency", "max_distance", "sensitivity"):
        assert f'id="setting-{key}-input"' in page and f'id="setting-{key}-set"' in page

    answer = await owner.client.post(
        url, data=owner.form(key="hold_time", value="45"), allow_redirects=False
    )
    assert answer.status == 303
    assert detector.device.fusion.hold_ms == 45000
    page = await (await owner.client.get(f"/devices/{device_id}")).text()
    assert 'data-outcome="confirmed"' in page
    assert "Hold time set to 45: confirmed by the device." in page

    # A second change right after: the last echo (45) is a recording now, not an answer.
    await owner.client.post(url, data=owner.form(key="hold_time", value="30"))
    assert detector.device.fusion.hold_ms == 30000
    page = await (await owner.client.get(f"/devices/{device_id}")).text()
    assert "Hold time set to 30: confirmed by the device." in page

    await owner.client.post(url, data=owner.form(key="sensitivity", value="high"))
    assert detector.device.config["settings"]["sensitivity"] == "high"

    # The device snaps max distance to its 75 cm gates and says so in its echo.
    await owner.client.post(url, data=owner.form(key="max_distance", value="100"))
    page = await (await owner.client.get(f"/devices/{device_id}")).text()
    assert 'data-outcome="different"' in page and "it uses 75" in page


async def test_bad_settings_are_refused_with_a_reason_and_silence_is_reported(
    owner: SignedIn, detector: DeviceThread, serial: str
) -> None:
    device_id = _device_id(owner.hub, serial)
    url = f"/devices/{device_id}/presence/settings"
    for key, value in (("hold_time", "99999"), ("hold_time", "abc"), ("colour", "red")):
        answer = await owner.client.post(url, data=owner.form(key=key, value=value))
        assert answer.status == 400, (key, value)
    assert detector.device.fusion.hold_ms == 15000

    detector.stop()  # the device goes silent: the hub says the change was not confirmed
    changer = settings_changer(owner.hub)
    assert changer is not None
    changer.timeout = 0.3
    await owner.client.post(url, data=owner.form(key="hold_time", value="20"))
    page = await (await owner.client.get(f"/devices/{device_id}")).text()
    assert 'data-outcome="not_confirmed"' in page and "did not confirm" in page


async def test_someone_not_signed_in_cannot_change_a_setting(
    owner: SignedIn, detector: DeviceThread, serial: str
) -> None:
    stranger = TestClient(owner.client.server)
    await stranger.start_server()  # the running hub; a browser without a session
    try:
        answer = await stranger.post(
            f"/devices/{_device_id(owner.hub, serial)}/presence/settings",
            data={"key": "hold_time", "value": "30"},
            allow_redirects=False,
        )
        assert answer.status == 302 and answer.headers["Location"].startswith("/auth/login")
    finally:
        await stranger.session.close()
    await asyncio.sleep(0.2)
    assert detector.device.fusion.hold_ms == 15000
