"""My home in headless Chromium (e2e tier), phone-sized, away from home: the real store, the
private RabbitMQ node (Web-MQTT for the page, MQTT for the hub, the store's tokens) and a hub
played in Python with the hub's own remote crypto. The owner pairs with the code the hub
shows, compares the check digits, sees occupancy change live, changes a setting and sees the
reply; a replayed or tampered message from the broker is not shown; the home goes quiet and
the page says since when; the hub removes the browser and the page asks to pair again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page

from cloud.oauth.runtime import OAUTH
from cloud.remote.settings import RemoteSettings
from hub.integrations.ethos_remote.envelope import b64decode, b64encode
from tests.cloud.common import PASSWORD
from tests.cloud.remote.conftest import HUB_SESSION, user_id_of
from tests.cloud.remote.standin_hub import BrokerLogin, Command, StandinHub
from tests.support.browser import Screenshots, assert_no_sideways_scroll, chromium
from tests.support.remote_broker import RemoteBroker

pytestmark = pytest.mark.browser

HUB_USER = 1  # the owner's id in the hub's own users table
OCCUPANCY: dict[str, Any] = {
    "entity_id": "binary_sensor.epd_000123_occupancy",
    "name": "Hall occupancy",
    "domain": "binary_sensor",
    "state": "off",
    "attributes": {"device_class": "occupancy"},
    "device": "Presence detector EPD-000123",
    "room": "Hall",
    "controls": [],
}
HOLD_TIME: dict[str, Any] = {
    "entity_id": "number.epd_000123_hold_time",
    "name": "Hold time",
    "domain": "number",
    "state": "60",
    "attributes": {"unit_of_measurement": "s"},
    "device": "Presence detector EPD-000123",
    "room": "Hall",
    "controls": [
        {
            "service": "number.set_value",
            "label": "Hold time",
            "field": "value",
            "min": 5,
            "max": 600,
            "step": 5,
        }
    ],
}
LONGEST_HOLD_S = 300


@pytest.fixture
def remote_settings(remote_broker: RemoteBroker) -> RemoteSettings:
    return RemoteSettings(mqtt_url=remote_broker.mqtt_url, ws_url=remote_broker.ws_url)


def _answer(command: Command) -> tuple[bool, str | None]:
    """The hub's Authorizer and device, played: holds longer than 5 minutes are refused."""
    if command.body["data"].get("value", 0) > LONGEST_HOLD_S:
        return False, f"the detector holds at most {LONGEST_HOLD_S} s"
    return True, None


async def _state_of(page: Page, entity_id: str) -> str:
    return await page.inner_text(f"[data-entity-id='{entity_id}'] .remote-entity-state")


async def _wait_state(page: Page, entity_id: str, text: str) -> None:
    await page.wait_for_selector(
        f"[data-entity-id='{entity_id}'] .remote-entity-state:text-is('{text}')"
    )


def _tampered(payload: bytes) -> bytes:
    envelope = json.loads(payload)
    sealed = bytearray(b64decode(envelope["ct"]))
    sealed[0] ^= 0x01
    return json.dumps(envelope | {"ct": b64encode(bytes(sealed))}).encode()


async def test_owner_pairs_away_from_home_and_uses_the_home_live(
    provider, signed_in, hub, remote_broker, tmp_path: Path
):
    assert remote_broker.jwks is not None
    remote_broker.jwks.publish(provider.app[OAUTH].keys().published)
    owner_sub = str(await user_id_of(provider, signed_in))
    async with httpx.AsyncClient(base_url=provider.base_url) as http:
        session = await http.post(
            HUB_SESSION, auth=hub.auth, json={"enabled": True, "members": [owner_sub]}
        )
    assert session.status_code == 200, session.text
    login = BrokerLogin(
        remote_broker.host,
        remote_broker.mqtt_port,
        f"hub-{hub.client_id}",
        session.json()["token"],
        client_id=session.json()["client_id"],
    )
    standin = StandinHub(hub.client_id, tmp_path / "hub", answer=_answer)
    await standin.async_start(login)
    shots = Screenshots("remote-home")
    try:
        await standin.async_publish_snapshot("Maison", [OCCUPANCY, HOLD_TIME])
        async with chromium() as chrome:
            context = await chrome.new_context(viewport={"width": 390, "height": 844})
            page = await context.new_page()
            violations: list[str] = []
            page.on(
                "console",
                lambda msg: violations.append(msg.text) if "Content Security" in msg.text else None,
            )
            await page.clock.install()
            await page.goto(f"{provider.base_url}/account/login?next=/home")
            await page.fill("input[name=email]", signed_in)
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button:has-text('Sign in')")
            await page.wait_for_url(f"{provider.base_url}/home")

            # Pairing: the code the hub's /remote page shows, typed as a person would.
            await page.wait_for_selector("text=Pair this browser")
            await shots.take(page, "not paired")
            code = standin.start_pairing(HUB_USER)
            await page.get_by_label("Pairing code").fill(code.lower())
            await page.click("button:has-text('Pair this browser')")
            check = await page.wait_for_selector(".remote-check")
            assert await check.inner_text() == standin.check_of(HUB_USER)

            # The retained snapshot, then occupancy live.
            await _wait_state(page, OCCUPANCY["entity_id"], "off")
            assert await _state_of(page, HOLD_TIME["entity_id"]) == "60 s"
            assert "Hall · Presence detector EPD-000123" in await page.inner_text(
                f"[data-entity-id='{OCCUPANCY['entity_id']}']"
            )
            came = await standin.async_publish_event(OCCUPANCY | {"state": "on"})
            await _wait_state(page, OCCUPANCY["entity_id"], "on")
            await shots.take(page, "occupied")

            # A setting changed remotely, refused once by the hub, then accepted.
            await page.get_by_label("Hold time").fill("600")
            await page.click(f"[data-entity-id='{HOLD_TIME['entity_id']}'] button:text('Set')")
            await page.wait_for_selector(
                f"text=Hold time: refused: the detector holds at most {LONGEST_HOLD_S} s"
            )
            await page.get_by_label("Hold time").fill("30")
            await page.click(f"[data-entity-id='{HOLD_TIME['entity_id']}'] button:text('Set')")
            await page.wait_for_selector("text=Hold time: done")
            assert [c.body["data"] for c in standin.commands] == [{"value": 600}, {"value": 30}]
            assert {c.body["service"] for c in standin.commands} == {"number.set_value"}
            assert standin.refused == []
            await standin.async_publish_event(HOLD_TIME | {"state": "30"})
            await _wait_state(page, HOLD_TIME["entity_id"], "30 s")
            await shots.take(page, "setting changed")

            # The broker replays an old event and forwards a tampered one: neither is shown.
            await standin.async_publish_event(OCCUPANCY | {"state": "off"})
            await _wait_state(page, OCCUPANCY["entity_id"], "off")
            await standin.async_publish(standin.topic("event"), came)
            forged = standin.seal(
                standin.topic("event"),
                {"type": "state", "sent_at": "2026-01-01T00:00:00+00:00", "entity": OCCUPANCY},
            )
            await standin.async_publish(standin.topic("event"), _tampered(forged))
            await standin.async_publish_event(HOLD_TIME | {"state": "35"})  # a marker after
            await _wait_state(page, HOLD_TIME["entity_id"], "35 s")
            assert await _state_of(page, OCCUPANCY["entity_id"]) == "off"
            await assert_no_sideways_scroll(page)

            # The hub goes away: after 90 s of silence the page says since when.
            await standin.async_stop()
            await page.clock.fast_forward("01:35")
            status = await page.wait_for_selector("text=Home offline since")
            assert "Home offline since" in await status.inner_text()
            await shots.take(page, "offline")

            # The hub comes back and removes this browser: its keys message is cleared.
            await standin.async_start(login)  # the same keys, from its folder
            browser_id = standin.pairing.browsers()[0].browser_id
            for outgoing in await standin.pairing.async_remove_browser(hub.client_id, browser_id):
                await standin.async_publish(outgoing.topic, outgoing.payload, outgoing.retain)
            await page.wait_for_selector("text=Key changed: pair again.")
            await page.wait_for_selector("text=Pair this browser")
            await shots.take(page, "key changed")
            assert violations == []
    finally:
        if standin.connected:
            await standin.async_clear(standin.topic("state"))
            for browser in standin.pairing.browsers():
                await standin.async_clear(standin.topic("keys", browser.browser_id))
            await standin.async_stop()
