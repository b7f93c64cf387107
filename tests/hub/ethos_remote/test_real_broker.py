"""The e2e tier against the real remote broker (a private RabbitMQ node checking the JWTs a
store mints): the hub logs in with its own token, is allowed its own topics only, and a
browser holding a person's token pairs, reads the sealed snapshot and controls a shared
entity through it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from joserfc.jwk import RSAKey

from cloud.remote.broker_tokens import mint_hub_token, mint_person_token, new_browser_client_id
from tests.hub.ethos_cloud.identity import link
from tests.hub.ethos_remote.conftest import PLUG, open_remote_home
from tests.hub.ethos_remote.home import RemoteHome, RemoteStore, _client, switch_config
from tests.hub.ethos_remote.test_large_home import add_sensors
from tests.hub.mqtt.device import FakeDevice
from tests.support.remote_broker import RemoteBroker
from tests.support.remote_browser import RemoteBrowser
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e_only


@pytest.fixture
def signing_key(remote_broker: RemoteBroker) -> RSAKey:
    key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, auto_kid=True)
    assert remote_broker.jwks is not None
    remote_broker.jwks.publish([key])
    return key


@pytest.fixture
async def rabbit_home(
    aiohttp_client, remote_broker: RemoteBroker, signing_key: RSAKey, tmp_path: Path,
    mqtt_broker_url: str, prefix: str,
) -> AsyncIterator[RemoteHome]:  # fmt: skip
    import secrets

    store = RemoteStore(hub_id=secrets.token_hex(16), broker_url=remote_broker.mqtt_url)

    def mint() -> tuple[str, str]:
        minted = mint_hub_token(signing_key, store.hub_id)
        assert minted.client_id is not None
        return minted.token, minted.client_id

    store.mint = mint
    server = TestServer(store.app())
    await server.start_server()
    cloud_url = str(server.make_url("")).rstrip("/")

    def person_login() -> dict[str, object]:
        client_id = new_browser_client_id()
        token = mint_person_token(signing_key, 7, [store.hub_id], client_id=client_id)
        return {"username": token.subject, "password": token.token, "identifier": client_id}

    try:
        home = await open_remote_home(
            aiohttp_client, store, cloud_url, tmp_path / "hub", mqtt_broker_url, prefix
        )
        home.login = person_login
        await link(home.hub, cloud_url, client_id=store.hub_id)
        async with FakeDevice.connect(mqtt_broker_url) as device:
            topic, config = switch_config(prefix, "plug", "Plug", "kitchen")
            await device.publish(topic, config, retain=True)
            await wait_until(lambda: home.hub.states.get(PLUG))
            yield home
    finally:
        await server.close()


async def test_a_browser_controls_a_shared_entity_through_rabbitmq(rabbit_home: RemoteHome):
    home = rabbit_home
    await home.share(PLUG)
    await home.wait_connected()
    async with home.browser(await home.pairing_code()) as phone:
        await wait_until(lambda: phone.latest_snapshot() is not None)
        assert [e["entity_id"] for e in phone.latest_snapshot()["entities"]] == [PLUG]
        command = await phone.send(PLUG, "switch.turn_on")
        assert (await phone.reply_to(command))["ok"] is True
        await wait_until(lambda: home.hub.states.get(PLUG).state == "on")
    assert home.remote.uplink.connections == 1  # the hub's token was accepted at once


async def test_a_browser_assembles_a_large_homes_snapshot_through_rabbitmq(
    rabbit_home: RemoteHome,
):
    # RabbitMQ delivers retained messages only to subscriptions without wildcards: the
    # browser names each part's topic, and gets every part of a snapshot in many parts.
    home = rabbit_home
    sensors = add_sensors(home)
    await home.share(PLUG, *sensors)
    await home.wait_connected()
    code = await home.pairing_code()
    browser = RemoteBrowser(home.hub_id, "Tablet")
    async with _client(home.broker_url, home.login) as client, browser.async_session(client):
        await browser.async_pair(client, code)
        await browser.async_wait_for(
            lambda: browser.snapshot is not None and len(browser.snapshot["entities"]) > 1,
            timeout=15,
        )
        assert browser.snapshot is not None and browser.snapshot["parts"] >= 3
        shown = sorted(entity["entity_id"] for entity in browser.snapshot["entities"])
        assert shown == sorted([PLUG, *sensors])
    # A tab opened later reads the retained parts alone (no fresh snapshot is asked for).
    later = RemoteBrowser(home.hub_id, "Phone")
    later.hub_pub, later.household = browser.hub_pub, browser.household
    async with _client(home.broker_url, home.login) as client, later.async_session(client):
        await later.async_wait_for(
            lambda: later.snapshot is not None and len(later.snapshot["entities"]) > 1,
            timeout=15,
        )
        assert later.snapshot is not None
        assert len(later.snapshot["entities"]) == len(sensors) + 1
