"""The Rooms page and the generated home page, through the web app with a real hub and
broker: rooms made and changed by the owner, devices put in rooms, the home page built for
0, 1 and 50 devices, and YAML cards naming a missing entity offer the closest ones."""

from __future__ import annotations

import re

from hub.core.hub import Hub
from hub.core.models import DeviceInfo
from tests.hub.mqtt.device import FakeDevice
from tests.hub.web.conftest import SignedIn, second_browser
from tests.support.waiting import wait_until


async def _detector(hub: Hub, number: int, occupied: bool = False, distance: float = 120.0) -> str:
    """A presence detector as its integration registers it: device, occupancy, distance."""
    serial = f"epd_{number:03d}"
    device = await hub.devices.async_get_or_create(
        DeviceInfo(identifiers=(("ethos", serial),), name=f"Detector {number:03d}")
    )
    for domain, key, value, attributes in (
        ("binary_sensor", "occupancy", "on" if occupied else "off", {"device_class": "occupancy"}),
        ("sensor", "distance", str(distance), {"unit_of_measurement": "cm"}),
    ):
        row = await hub.entities.async_get_or_create(
            domain,
            "test",
            f"{serial}_{key}",
            suggested_object_id=f"{serial}_{key}",
            device_id=device.id,
        )
        hub.states.async_set(
            row.entity_id, value, {"friendly_name": f"{serial} {key}", **attributes}
        )
    return device.id


def _sections(page: str) -> list[str]:
    return re.findall(r'<section class="card room" data-room="([^"]+)"', page)


async def test_owner_makes_rooms_orders_them_and_removes_one_with_devices(owner: SignedIn) -> None:
    hub = owner.hub
    device_id = await _detector(hub, 1)
    for name in ("Kitchen", "Hall", "Office"):
        made = await owner.client.post("/rooms", data=owner.form(name=name), allow_redirects=False)
        assert made.status == 303
    hall = hub.areas.find_by_name("Hall")
    assert hall is not None
    await owner.client.post(f"/rooms/{hall.id}/move", data=owner.form(direction="up"))
    await owner.client.post(f"/rooms/{hall.id}/rename", data=owner.form(name="Entrance"))
    page = await (await owner.client.get("/rooms")).text()
    assert re.findall(r'class="card room-row" data-room="([^"]+)"', page) == [
        "Entrance",
        "Kitchen",
        "Office",
    ]
    # Put the detector in the hall (the picker on its page), then move it to a new room.
    await owner.client.post(
        f"/devices/{device_id}/room", data=owner.form(area_id=hall.id), allow_redirects=False
    )
    assert hub.devices.get(device_id).area_id == hall.id  # type: ignore[union-attr]
    moved = await owner.client.post(
        f"/devices/{device_id}/room",
        data=owner.form(area_id="__new__", new_name="Living room", next="/rooms"),
        allow_redirects=False,
    )
    assert moved.headers["Location"] == "/rooms"
    living = hub.areas.find_by_name("Living room")
    assert hub.devices.get(device_id).area_id == living.id  # type: ignore[union-attr]
    # Removing the room it is in unassigns it; the home page then shows it "Unassigned".
    await owner.client.post(f"/rooms/{living.id}/remove", data=owner.form())  # type: ignore[union-attr]
    assert hub.devices.get(device_id).area_id is None  # type: ignore[union-attr]
    home = await (await owner.client.get("/")).text()
    assert _sections(home) == ["Entrance", "Kitchen", "Office", "Unassigned"]
    unassigned = home.split('data-room="Unassigned"', 1)[1]
    assert 'data-state-of="binary_sensor.epd_001_occupancy"' in unassigned


async def test_bad_room_input_is_a_clear_400_and_members_cannot_edit(owner: SignedIn) -> None:
    empty = await owner.client.post("/rooms", data=owner.form(name="  "))
    assert empty.status == 400
    assert "a room needs a name" in await empty.text()
    assert (await owner.client.post("/rooms/nope/remove", data=owner.form())).status == 400
    await owner.client.post("/rooms", data=owner.form(name="Hall"))
    twice = await owner.client.post("/rooms", data=owner.form(name="hall"))
    assert "already a room called" in await twice.text()
    bad_move = await owner.client.post(
        f"/rooms/{owner.hub.areas.async_all()[0].id}/move", data=owner.form(direction="sideways")
    )
    assert bad_move.status == 400
    async with second_browser(owner, "member-sub", "Max") as member:
        refused = await member.client.post("/rooms", data=member.form(name="Attic"))
        assert refused.status == 403
        assert "Add room" not in await (await member.client.get("/rooms")).text()
    assert [a.name for a in owner.hub.areas.async_all()] == ["Hall"]


async def test_home_page_with_no_devices_says_what_will_happen(owner: SignedIn) -> None:
    for path in ("/", "/dashboards/home"):
        response = await owner.client.get(path)
        assert response.status == 200
        page = await response.text()
        assert 'id="home-empty"' in page
        assert _sections(page) == []


async def test_home_page_with_one_device_in_its_room(
    owner: SignedIn, device: FakeDevice, prefix: str
) -> None:
    hub = owner.hub
    detector = await _detector(hub, 7, occupied=True, distance=80)
    hub.states.async_set("sensor.epd_007_distance", "95", {"unit_of_measurement": "cm"})
    # A real switch over MQTT beside it: its controls show under the occupancy.
    await device.publish(
        f"{prefix}/switch/lamp/config",
        {
            "dev": {"ids": ["lamp-1"], "name": "Lamp"},
            "uniq_id": "lamp1",
            "name": "Lamp",
            "cmd_t": f"{prefix}/lamp/set",
            "stat_t": f"{prefix}/lamp/state",
        },
        retain=True,
    )
    await wait_until(lambda: hub.states.get("switch.lamp"))
    lamp = hub.entities.get("switch.lamp").device_id  # type: ignore[union-attr]
    room = await hub.areas.async_create("Living room")
    await hub.areas.async_assign_device(detector, room.id)
    await hub.areas.async_assign_device(lamp, room.id)  # type: ignore[arg-type]

    page = await (await owner.client.get("/")).text()
    assert _sections(page) == ["Living room"]
    room_html = page.split('data-room="Living room"', 1)[1].split("</section>", 1)[0]
    occupancy = room_html.index('data-state-of="binary_sensor.epd_007_occupancy">on<')
    switch = room_html.index('action="/entities/switch.lamp/command"')
    sensor = room_html.index('data-state-of="sensor.epd_007_distance">95<')
    assert occupancy < switch < sensor
    assert '<svg class="spark"' in room_html  # the distance's history, drawn on the server
    outside = room_html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in outside and "https://" not in outside  # no third-party request
    # The switch on the home page sends its command and comes back home.
    sent = await owner.client.post(
        "/entities/switch.lamp/command",
        data=owner.form(service="turn_on", next="/"),
        allow_redirects=False,
    )
    assert sent.headers["Location"] == "/"


async def test_home_page_with_fifty_devices_in_rooms_and_unassigned(owner: SignedIn) -> None:
    hub = owner.hub
    rooms = [await hub.areas.async_create(f"Room {n:02d}") for n in range(5)]
    devices = [await _detector(hub, n, occupied=n % 2 == 0) for n in range(50)]
    for index, device_id in enumerate(devices[:40]):
        await hub.areas.async_assign_device(device_id, rooms[index % 5].id)
    response = await owner.client.get("/")
    assert response.status == 200
    page = await response.text()
    assert _sections(page) == [*(r.name for r in rooms), "Unassigned"]
    unassigned = page.split('data-room="Unassigned"', 1)[1]
    assert unassigned.count("occupancy-state") == 10
    first_room = page.split('data-room="Room 00"', 1)[1].split("</section>", 1)[0]
    assert first_room.count("occupancy-state") == 8
    assert page.count('class="state state-on occupancy-state"') == 25


async def test_a_card_naming_a_missing_entity_offers_the_closest_ones(owner: SignedIn) -> None:
    await _detector(owner.hub, 3)
    source = (
        "title: Mine\ncards:\n"
        "  - type: entities\n    entities: [binary_sensor.epd_003_ocupancy, sensor.zzz_qqq]\n"
    )
    await owner.client.post("/dashboards/mine/edit", data=owner.form(source=source))
    page = await (await owner.client.get("/dashboards/mine")).text()
    assert (
        'binary_sensor.epd_003_ocupancy: not found; did you mean <a href="/entities/'
        'binary_sensor.epd_003_occupancy">binary_sensor.epd_003_occupancy</a>' in page
    )
    assert "sensor.zzz_qqq: not found; no entity on this hub looks like it" in page


async def test_a_single_entity_is_moved_to_another_room_from_its_page(owner: SignedIn) -> None:
    hub = owner.hub
    device_id = await _detector(hub, 9)
    hall = await hub.areas.async_create("Hall")
    porch = await hub.areas.async_create("Porch")
    await hub.areas.async_assign_device(device_id, hall.id)
    page = await (await owner.client.get("/entities/sensor.epd_009_distance")).text()
    assert "In Hall, as its device" in page
    moved = await owner.client.post(
        "/entities/sensor.epd_009_distance/room",
        data=owner.form(area_id=porch.id),
        allow_redirects=False,
    )
    assert moved.headers["Location"] == "/entities/sensor.epd_009_distance"
    home = await (await owner.client.get("/")).text()
    porch_html = home.split('data-room="Porch"', 1)[1].split("</section>", 1)[0]
    hall_html = home.split('data-room="Hall"', 1)[1].split("</section>", 1)[0]
    assert 'data-state-of="sensor.epd_009_distance"' in porch_html
    assert 'data-state-of="binary_sensor.epd_009_occupancy"' in hall_html
    assert 'data-state-of="sensor.epd_009_distance"' not in hall_html


async def test_settings_stay_off_the_home_page_and_a_lone_device_names_briefly(
    owner: SignedIn,
) -> None:
    hub = owner.hub
    device = await hub.devices.async_get_or_create(
        DeviceInfo(identifiers=(("ethos", "EPD-5"),), name="Ethos presence EPD-5")
    )
    for domain, key, attributes in (
        ("binary_sensor", "occupancy", {"device_class": "occupancy"}),
        ("number", "hold_time", {"entity_category": "config"}),
        ("sensor", "diagnostic", {"entity_category": "diagnostic"}),
    ):
        row = await hub.entities.async_get_or_create(
            domain, "test", f"epd5_{key}", suggested_object_id=f"epd5 {key}", device_id=device.id
        )
        name = f"Ethos presence EPD-5 {key.replace('_', ' ').capitalize()}"
        hub.states.async_set(row.entity_id, "on", {"friendly_name": name, **attributes})
    page = await (await owner.client.get("/")).text()
    unassigned = page.split('data-room="Unassigned"', 1)[1]
    assert "<span>Occupancy</span>" in unassigned
    assert "number.epd5_hold_time" not in page and "sensor.epd5_diagnostic" not in page
    second = await hub.devices.async_get_or_create(
        DeviceInfo(identifiers=(("ethos", "EPD-6"),), name="Ethos presence EPD-6")
    )
    row = await hub.entities.async_get_or_create(
        "binary_sensor", "test", "epd6_occupancy", suggested_object_id="epd6", device_id=second.id
    )
    hub.states.async_set(row.entity_id, "off", {"friendly_name": "Ethos presence EPD-6 Occupancy"})
    page = await (await owner.client.get("/")).text()  # two devices: full names again
    assert "<span>Ethos presence EPD-5 Occupancy</span>" in page
