"""The owner's broker page: third-party device credentials scoped like an Ethos device's
(shown once, never stored or logged), refused with a reason when they would overlap anything,
owner only; and a loud warning when the broker does not enforce identity."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from hub.web.app import create_app
from tests.hub.common import everything_written, make_config
from tests.hub.ethos_cloud.identity import IdentityHome, listening, mqtt_session, refused
from tests.hub.web.conftest import SignedIn, second_browser, sign_in
from tests.support.waiting import wait_until

PASSWORD = re.compile(r'id="created-password">([^<]+)<')


async def _make(home: IdentityHome, **fields: str):
    await home.wait_enforced()
    return await home.client.post("/broker/credentials", data=home.form(**fields))


async def test_a_third_party_credential_made_in_the_ui_is_scoped_and_shown_once(
    identity_home: IdentityHome, caplog: pytest.LogCaptureFixture
) -> None:
    home, prefix = identity_home, identity_home.prefix
    caplog.set_level(logging.DEBUG)
    made = await _make(home, name="kitchen-plug", base="tasmota/kitchen", label="Kitchen plug")
    assert made.status == 201 and made.headers["Cache-Control"] == "no-store"
    page = await made.text()
    match = PASSWORD.search(page)
    assert match and 'id="created-username">ext-kitchen-plug<' in page
    password = match.group(1)

    listing = await (await home.client.get("/broker")).text()
    assert 'data-username="ext-kitchen-plug"' in listing and password not in listing
    assert password not in caplog.text
    await home.hub.storage.async_flush()
    assert password.encode() not in everything_written(home.hub.config.hub_dir)

    async with (
        listening(home.broker, "#") as hub_view,
        mqtt_session(home.broker, "ext-kitchen-plug", password) as plug,
    ):
        config = {"name": "Kitchen plug", "cmd_t": "tasmota/kitchen/cmnd/POWER",
                  "stat_t": "tasmota/kitchen/stat/POWER", "uniq_id": "kitchen1"}  # fmt: skip
        await plug.publish(f"{prefix}/switch/kitchen-plug/power/config", json.dumps(config))
        await plug.publish("tasmota/kitchen/stat/POWER", "ON", qos=1)
        for topic in ("ethos/EPD-000123/occupancy", "tasmota/other/stat/POWER",
                      f"{prefix}/switch/other/power/config", f"{prefix}/status"):  # fmt: skip
            await plug.publish(topic, "x", qos=1)
        await plug.publish("tasmota/kitchen/tele/LWT", "Online", qos=1)
        await wait_until(lambda: hub_view.payloads("tasmota/kitchen/tele/LWT"))
        seen = {topic for topic, _ in hub_view.messages}
        assert "tasmota/kitchen/stat/POWER" in seen
        assert {
            "ethos/EPD-000123/occupancy",
            "tasmota/other/stat/POWER",
            f"{prefix}/status",
        }.isdisjoint(seen)
        await wait_until(
            lambda: (s := home.hub.states.get("switch.kitchen_plug")) and s.state == "on"
        )
        filters = {"tasmota/kitchen/cmnd/#": True, f"{prefix}/status": True, "#": False,
                   "tasmota/#": False, "ethos/#": False}  # fmt: skip
        for topic_filter, allowed in filters.items():
            (code,) = await plug.subscribe(topic_filter, qos=1)
            assert code.is_failure is not allowed, topic_filter

    removed = await home.client.post(
        "/broker/credentials/ext-kitchen-plug/delete", data=home.form(), allow_redirects=False
    )
    assert removed.status == 303
    assert await refused(home.broker, "ext-kitchen-plug", password)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"name": "Bad Name", "base": "x/y"}, "lowercase"),
        ({"name": "a", "base": "ethos/EPD-1"}, "may not lie under ethos/"),
        ({"name": "a", "base": "x/#"}, "topic base must be"),
        ({"name": "a", "base": "x", "node_id": "EPD-430001"}, "belongs to an Ethos device"),
        ({"name": "taken", "base": "z/1"}, "exists"),
        ({"name": "b", "base": "tasmota/one/sub"}, "overlaps"),
    ],
)
async def test_a_credential_that_would_overlap_or_escape_its_scope_is_refused(
    identity_home: IdentityHome, fields: dict[str, str], reason: str
) -> None:
    await identity_home.own("EPD-430001")
    assert (await _make(identity_home, name="taken", base="tasmota/one")).status == 201
    answer = await _make(identity_home, **fields)
    assert answer.status == 400
    assert reason in await answer.text()
    clients = await identity_home.identity.async_list_clients()
    assert [c.username for c in clients if c.kind == "third_party"] == ["ext-taken"]


async def test_only_the_owner_manages_broker_credentials(identity_home: IdentityHome) -> None:
    await identity_home.wait_enforced()
    owner = SignedIn(identity_home.client, identity_home.owner)
    async with second_browser(owner, "member-sub", "Max") as member:
        assert not member.principal.is_owner
        assert (await member.client.get("/broker")).status == 403
        assert 'id="nav-broker"' not in await (await member.client.get("/devices")).text()
        assert 'id="nav-broker"' in await (await owner.client.get("/devices")).text()
        made = await member.client.post("/broker/credentials", data=member.form(name="m", base="m"))
        assert made.status == 403
    assert not [
        c for c in await identity_home.identity.async_list_clients() if c.kind == "third_party"
    ]


async def test_the_hub_says_loudly_when_the_broker_does_not_enforce_identity(
    mqtt_broker_url: str, aiohttp_client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An anonymous broker (the default tier's embedded one, the e2e tier's Mosquitto)."""
    config = make_config(tmp_path, integrations=("mqtt",), mqtt_url=mqtt_broker_url)
    client = await aiohttp_client(create_app(config))
    await sign_in(client, "owner-sub", "Olivia")
    await wait_until(lambda: "NOT enforced" in caplog.text, timeout=15)
    page = await (await client.get("/broker")).text()
    assert 'id="broker-not-enforced"' in page and "accepts anonymous clients" in page
