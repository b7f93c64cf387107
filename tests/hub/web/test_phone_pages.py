"""The hub's first-hour pages and /remote in a real Chromium at phone and desktop size:
nothing scrolls sideways, not even with entity ids as long as a detector's, and the home
page shows the detector in its room (screenshots of both sizes in test-artifacts/hub-home/).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from hub.core.models import DeviceInfo
from hub.web.app import create_app
from hub.web.auth.const import SESSION_COOKIE
from hub.web.keys import HUB_KEY, USERS_KEY
from tests.hub.common import make_config
from tests.support.browser import Screenshots, assert_no_sideways_scroll, chromium

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
REMOTE_INTEGRATIONS = ("mqtt", "ethos_cloud", "ethos_remote")


async def test_first_hour_pages_fit_a_phone_and_home_shows_the_room(tmp_path: Path) -> None:
    # Remote access loaded for its /remote page: the hub is not linked, and its MQTT broker
    # is a closed port (the integration retries in the background), so nothing connects.
    config = make_config(tmp_path, integrations=REMOTE_INTEGRATIONS, mqtt_url="mqtt://127.0.0.1:9")
    app = create_app(config)
    server = TestServer(app)
    await server.start_server()
    try:
        hub = app[HUB_KEY]
        device = await hub.devices.async_get_or_create(
            DeviceInfo(identifiers=(("ethos", "EPD-000042"),), name="Ethos presence EPD-000042")
        )
        entity_ids = []
        for domain, key, value, attributes in (
            ("binary_sensor", "occupancy", "on", {"device_class": "occupancy"}),
            ("sensor", "detection_distance", "212", {"unit_of_measurement": "cm"}),
        ):
            row = await hub.entities.async_get_or_create(
                domain, "test", f"epd42_{key}",
                suggested_object_id=f"ethos presence epd 000042 {key}", device_id=device.id,
            )  # fmt: skip
            name = f"Ethos presence EPD-000042 {key.replace('_', ' ').capitalize()}"
            hub.states.async_set(row.entity_id, value, {"friendly_name": name, **attributes})
            entity_ids.append(row.entity_id)
        living = await hub.areas.async_create("Living room with a rather long name")
        await hub.areas.async_create("Kitchen")
        await hub.areas.async_assign_device(device.id, living.id)
        user = await app[USERS_KEY].async_upsert_from_claims("owner", "o@example.test", "Olivia")
        session = await app[USERS_KEY].async_create_session(user)
        base = str(server.make_url("")).rstrip("/")
        pages = [
            "/",
            "/rooms",
            "/devices",
            f"/devices/{device.id}",
            f"/entities/{entity_ids[1]}",
            "/setup/rooms",
            "/setup/devices",
            "/dashboards",
            "/remote",
        ]
        shots = Screenshots("hub-home")
        async with chromium() as browser:
            for size, options in (("phone", PHONE), ("desktop", DESKTOP)):
                context = await browser.new_context(**options)
                await context.add_cookies(
                    [{"name": SESSION_COOKIE, "value": session.token, "url": base}]
                )
                page = await context.new_page()
                for path in pages:
                    response = await page.goto(base + path)
                    assert response is not None and response.status == 200, path
                    await assert_no_sideways_scroll(page)
                await page.goto(base + "/")
                room = page.locator('section.room[data-room="Living room with a rather long name"]')
                assert "Occupancy" in await room.inner_text()
                assert await room.locator("svg.spark").count() == 1
                await shots.take(page, f"hub home, the detector in its room, {size}")
                await context.close()
    finally:
        await server.close()
