"""A large home: more shared entities than one sealed payload holds (64 KiB, about 180
entities). The snapshot goes out in parts, each under the limit, and a browser that pairs
after them assembles every entity (REMOTE.md, "Snapshot parts")."""

from __future__ import annotations

import pytest

from hub.integrations.ethos_remote.crypto_const import (
    MAX_PAYLOAD_BYTES,
    MAX_PLAINTEXT_BYTES,
    MAX_SNAPSHOT_PARTS,
)
from hub.integrations.ethos_remote.envelope import compact_json
from hub.integrations.ethos_remote.snapshot import snapshot_parts
from tests.hub.ethos_remote.conftest import PLUG
from tests.hub.ethos_remote.home import Listener, RemoteHome, _client
from tests.support.remote_browser import RemoteBrowser
from tests.support.waiting import wait_until

ROOMS = 400


def add_sensors(home: RemoteHome) -> list[str]:
    entity_ids = []
    for number in range(ROOMS):
        entity_id = f"sensor.room_{number:03d}_temperature"
        home.hub.states.async_set(
            entity_id,
            "21.5",
            {
                "friendly_name": f"Room {number:03d} temperature",
                "unit_of_measurement": "°C",
                "device_class": "temperature",
            },
        )
        entity_ids.append(entity_id)
    return entity_ids


async def test_a_browser_gets_all_400_shared_entities(remote_home: RemoteHome) -> None:
    home = remote_home
    sensors = add_sensors(home)
    await home.share(PLUG, *sensors)
    await home.wait_connected()
    code = await home.pairing_code()
    browser = RemoteBrowser(home.hub_id, "Tablet")
    async with (
        Listener.connect(home.broker_url, home.hub_id, home.login) as listener,
        _client(home.broker_url, home.login) as client,
        browser.async_session(client),
    ):
        await browser.async_pair(client, code)
        await browser.async_wait_for(
            lambda: browser.snapshot is not None and len(browser.snapshot["entities"]) > 1,
            timeout=15,
        )
        assert browser.snapshot is not None
        shown = [entity["entity_id"] for entity in browser.snapshot["entities"]]
        assert sorted(shown) == sorted([PLUG, *sensors])
        assert len(shown) == len(set(shown)) == ROOMS + 1
        # Every sealed payload stayed under the limit the receivers read.
        assert listener.heard
        assert max(len(heard.payload) for heard in listener.heard) <= MAX_PAYLOAD_BYTES


async def test_fewer_parts_clear_the_parts_left_over(remote_home: RemoteHome) -> None:
    home = remote_home
    sensors = add_sensors(home)
    await home.share(PLUG, *sensors)
    await home.wait_connected()
    code = await home.pairing_code()
    browser = RemoteBrowser(home.hub_id, "Tablet")
    async with (
        Listener.connect(home.broker_url, home.hub_id, home.login) as listener,
        _client(home.broker_url, home.login) as client,
        browser.async_session(client),
    ):
        await browser.async_pair(client, code)
        await browser.async_wait_for(
            lambda: browser.snapshot is not None and len(browser.snapshot["entities"]) > 1,
            timeout=15,
        )
        parts = browser.snapshot["parts"] if browser.snapshot else 0
        assert parts >= 3
        await home.share(PLUG)
        await browser.async_wait_for(
            lambda: browser.snapshot is not None and len(browser.snapshot["entities"]) == 1,
            timeout=15,
        )
        assert browser.snapshot is not None and browser.snapshot["parts"] == 1
        for part in range(1, parts):
            topic = f"ethos-home/{home.hub_id}/state/{part}"
            await wait_until(lambda t=topic: listener.on(t)[-1].payload == b"")


def test_parts_stay_within_their_budget_and_their_number_is_bounded(
    remote_home: RemoteHome, caplog: pytest.LogCaptureFixture
) -> None:
    home = remote_home
    sensors = add_sensors(home)
    parts = snapshot_parts(home.hub, frozenset(sensors))
    assert 3 <= len(parts) <= MAX_SNAPSHOT_PARTS
    assert all(len(compact_json(part)) <= MAX_PLAINTEXT_BYTES for part in parts)
    assert len({part["snapshot"] for part in parts}) == 1
    assert [(part["part"], part["parts"]) for part in parts] == [
        (index, len(parts)) for index in range(len(parts))
    ]
    assert [e["entity_id"] for part in parts for e in part["entities"]] == sorted(sensors)
    # More than the parts allowed: the rest is left out, and said so.
    small = snapshot_parts(home.hub, frozenset(sensors), budget=4000, max_parts=3)
    assert len(small) == 3
    assert all(len(compact_json(part)) <= 4000 for part in small)
    kept = sum(len(part["entities"]) for part in small)
    assert 0 < kept < ROOMS
    assert f"{ROOMS - kept} shared entities left out" in caplog.text
