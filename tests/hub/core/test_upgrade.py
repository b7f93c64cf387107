"""A hub installed by an earlier version (SQLModel tables in hub.db) upgrades at first start:
its devices, entities, link, people, sessions, invitations and history all come along."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient

from hub.web.app import create_app
from hub.web.auth.const import SESSION_COOKIE
from hub.web.auth.household import Identity
from hub.web.keys import AUTH_KEY, HOUSEHOLD_KEY, HUB_KEY, USERS_KEY
from tests.hub.common import make_config

FIXTURE = Path(__file__).parent / "fixtures" / "hub_db_before_json.sql"
# The tokens whose hashes the earlier hub stored (printed when the fixture was made).
OWNER_SESSION = "GzcpmOYGXiptOBvUmk7sUWhVIyZ0Ti1z__4hndw9w1o"
MEMBER_OFFLINE_CREDENTIAL = "2.7sgXbM5cGWaP1K33PArCaZ9PnXsasic6tMLlIX-RsHg"
INVITE_LINK_TOKEN = "7vMhnUKPG4WKZsPlDuYqTEsGBMBCM8FtiKr8FiROwr4"
OCCUPANCY = "binary_sensor.hall_occupancy"


def _install_earlier_hub(hub_dir: Path) -> None:
    hub_dir.mkdir(parents=True)
    with closing(sqlite3.connect(hub_dir / "hub.db")) as conn:
        conn.executescript(FIXTURE.read_text())


async def test_an_earlier_hubs_data_is_upgraded_at_first_start(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    # The fixture's sealed values are placeholders (no key file): the store is not asked
    # about anyone here (account checks have tests of their own).
    config = make_config(tmp_path, account_check_interval=timedelta(days=3650))
    _install_earlier_hub(config.hub_dir)
    client = await aiohttp_client(create_app(config))
    app = client.server.app
    hub = app[HUB_KEY]

    device = hub.devices.find(identifiers=[("ethos", "EPD-000123")])
    assert device is not None and device.name_by_user == "Hall detector"
    assert device.connections == [["mac", "aa:bb:cc:dd:ee:ff"]]
    assert device.extra == {"ethos_cloud.adoption": {"serial": "EPD-000123", "status": "verified"}}
    assert device.created_at.tzinfo is UTC
    entity = hub.entities.get(OCCUPANCY)
    assert (entity.name, entity.device_id, entity.disabled) == ("Hallway", device.id, False)
    assert hub.entities.get_by_unique_id("mqtt", "tasmota_plug_1").entity_id == "binary_sensor.plug"
    [link] = hub.config_entries.async_entries("ethos_cloud")
    assert link.data["client_id"] == "hub-abc"
    assert link.data["refresh_token"] == "gAAAA-sealed-refresh"  # still sealed, as it was
    [broker] = hub.config_entries.async_entries("mqtt")
    assert broker.data == {"url": "mqtt://127.0.0.1:1883"}

    # The household is back, signed in: the owner's browser keeps its session.
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: OWNER_SESSION})
    page = await client.get("/users")
    assert page.status == 200
    text = await page.text()
    assert "Max Member" in text and "later@example.com" in text
    users = app[USERS_KEY]
    member = await users.async_user_for_offline_credential(MEMBER_OFFLINE_CREDENTIAL)
    assert member is not None and member.subject == "sub-member"
    assert await app[HOUSEHOLD_KEY].async_link_invitation_valid(INVITE_LINK_TOKEN)
    assert app[AUTH_KEY].grants[1].refresh_token_sealed == "gAAAA-sealed-user-refresh"
    assert len(app[AUTH_KEY].sessions) == 3  # the expired one is refused when it comes
    # New people and invitations never take an id the earlier hub gave out.
    newcomer = await app[HOUSEHOLD_KEY].async_admit(
        Identity("sub-new", "later@example.com", True, "Lee"),
        linked_subject="sub-owner",
        invite_token=None,
    )
    assert newcomer is not None and newcomer.id == 3
    invitation = await app[HOUSEHOLD_KEY].async_invite_email("next@example.com", 1)
    assert invitation.id == 3

    since = datetime(2000, 1, 1, tzinfo=UTC)
    history = await hub.recorder.async_history(OCCUPANCY, since)
    assert [state for _, state in history] == ["on", "off", "on", "off"]
    assert [
        state for _, state in await hub.recorder.async_history("binary_sensor.plug", since)
    ] == ["off"]
    assert not (config.hub_dir / "hub.db").exists()
    assert (config.hub_dir / "hub.db.before-upgrade").is_file()
    await client.close()

    # The next start reads the documents; nothing is upgraded twice.
    again = await aiohttp_client(create_app(config))
    again.session.cookie_jar.update_cookies({SESSION_COOKIE: OWNER_SESSION})
    assert (await again.get("/users")).status == 200
    hub = again.server.app[HUB_KEY]
    assert len(await hub.recorder.async_history(OCCUPANCY, since)) == 4
    assert {u.subject for u in again.server.app[AUTH_KEY].users.values()} == {
        "sub-owner",
        "sub-member",
        "sub-new",
    }


async def test_an_upgrade_cut_short_is_done_again(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    _install_earlier_hub(config.hub_dir)
    # A first attempt wrote part of the documents and history, then the power went out.
    (config.hub_dir / "storage").mkdir()
    (config.hub_dir / "storage" / "core.device_registry.json").write_text("{}")
    (config.hub_dir / "history.db").write_bytes(b"half a database")
    app = create_app(config)
    hub = app[HUB_KEY]
    await hub.async_start()
    try:
        assert len(hub.devices.async_all()) == 2
        since = datetime(2000, 1, 1, tzinfo=UTC)
        assert len(await hub.recorder.async_history(OCCUPANCY, since)) == 4
    finally:
        await hub.async_stop()
