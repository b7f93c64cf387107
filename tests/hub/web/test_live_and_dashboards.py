"""Live updates over SSE, and dashboards from YAML (validation names file and line)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from hub.dashboards import DashboardError, DashboardStore, parse_dashboard
from tests.hub.mqtt.device import FakeDevice
from tests.hub.web.conftest import DASHBOARDS, SignedIn, second_browser
from tests.support.waiting import wait_until


async def _sensor(signed: SignedIn, device: FakeDevice, prefix: str) -> str:
    await device.publish(
        f"{prefix}/sensor/room/temp/config",
        {"name": "Room temperature", "stat_t": f"{prefix}/room/temp", "unit_of_meas": "°C"},
        retain=True,
    )
    await wait_until(lambda: signed.hub.states.get("sensor.room_temperature"))
    return "sensor.room_temperature"


async def _next_state_event(response: aiohttp.ClientResponse) -> dict:
    event = None
    while True:
        line = (await response.content.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: ") and event == "state":
            return json.loads(line[len("data: ") :])


async def test_state_changes_stream_to_the_browser(
    owner: SignedIn, device: FakeDevice, prefix: str
) -> None:
    entity_id = await _sensor(owner, device, prefix)
    response = await owner.client.get("/api/stream")
    assert response.headers["Content-Type"].startswith("text/event-stream")
    await asyncio.sleep(0.05)
    await device.publish(f"{prefix}/room/temp", "19.5")
    update = await asyncio.wait_for(_next_state_event(response), 5)
    assert update["entity_id"] == entity_id
    assert update["state"] == "19.5"
    assert update["attributes"]["unit_of_measurement"] == "°C"
    response.close()


def test_validation_errors_name_file_and_line(tmp_path: Path) -> None:
    source = (
        "title: Broken\n"
        "cards:\n"
        "  - type: gauge\n"
        "    entity: sensor.t\n"
        "    min: 10\n"
        "    max: 5\n"
        "  - type: pie\n"
        "  - type: history-graph\n"
        "    hours: 9999\n"
        "    entities: [sensor.t, Not An Id]\n"
    )
    with pytest.raises(DashboardError) as caught:
        parse_dashboard("broken", source, tmp_path / "broken.yaml")
    assert caught.value.problems == [
        "broken.yaml:6: gauge: min must be below max",
        "broken.yaml:7: card 2: type must be one of entities, gauge, history-graph, button",
        "broken.yaml:9: hours must be between 0 and 240",
        "broken.yaml:10: history-graph: 'Not An Id' is not an entity id like sensor.kitchen",
    ]
    with pytest.raises(DashboardError, match=r"broken.yaml:2: invalid YAML: mapping values"):
        parse_dashboard("broken", "title: T\n  oops: 1\n", tmp_path / "broken.yaml")


def test_shipped_dashboards_are_valid(tmp_path: Path) -> None:
    store = DashboardStore(DASHBOARDS, tmp_path)
    assert "home" not in store.names()  # the home page is generated (test_home_page)
    for name in store.names():
        assert store.load(name) is not None


async def test_dashboard_page_renders_cards_and_owner_edits_it(
    owner: SignedIn, device: FakeDevice, prefix: str
) -> None:
    entity_id = await _sensor(owner, device, prefix)
    await device.publish(f"{prefix}/room/temp", "21")
    await wait_until(lambda: owner.hub.states.get(entity_id).state == "21")
    bad = await owner.client.post(
        "/dashboards/mine/edit",
        data=owner.form(source="title: Mine\ncards:\n  - type: gauge\n"),
    )
    assert bad.status == 400
    assert "mine.yaml:3: gauge card needs an &#39;entity&#39;" in await bad.text()

    good_source = (
        "title: Mine\ncards:\n"
        f"  - type: gauge\n    entity: {entity_id}\n    min: 0\n    max: 40\n"
        f"  - type: history-graph\n    entities: [{entity_id}]\n    hours: 2\n"
        f"  - type: entities\n    entities: [{entity_id}, sensor.not_there]\n"
    )
    saved = await owner.client.post(
        "/dashboards/mine/edit", data=owner.form(source=good_source), allow_redirects=False
    )
    assert saved.status == 303
    page = await (await owner.client.get("/dashboards/mine")).text()
    assert '<meter min="0.0" max="40.0" value="21"' in page
    assert '<svg class="chart"' in page
    assert "sensor.not_there: not found" in page
    assert (owner.hub.config.hub_dir / "dashboards" / "mine.yaml").read_text() == good_source

    async with second_browser(owner, "member-sub", "Max") as member:
        refused = await member.client.post("/dashboards/mine/edit", data=member.form(source="x"))
        assert refused.status == 403
