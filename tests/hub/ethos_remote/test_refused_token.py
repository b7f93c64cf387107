"""A broker that refuses the hub's token (expired, revoked, minted before a restart of the
broker): the uplink asks the store for a fresh one instead of retrying the same. The broker
here is a private Mosquitto with dynamic security, which really checks passwords."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest
from aiohttp.test_utils import TestServer

from tests.hub.ethos_cloud.identity import link
from tests.hub.ethos_remote.conftest import PLUG, open_remote_home
from tests.hub.ethos_remote.home import RemoteHome, RemoteStore

DYNSEC_TOPIC = "$CONTROL/dynamic-security/v1"


async def _allow_hub(broker, hub_id: str, password: str) -> None:
    """The broker account a store would give the hub: its own topics only."""
    root = f"ethos-home/{hub_id}/#"
    acls = [
        {"acltype": kind, "topic": root, "allow": True}
        for kind in ("publishClientSend", "publishClientReceive", "subscribePattern")
    ]
    commands = [
        {"command": "createRole", "rolename": f"hub-{hub_id}", "acls": acls},
        {
            "command": "createClient",
            "username": f"hub-{hub_id}",
            "password": password,
            "roles": [{"rolename": f"hub-{hub_id}"}],
        },
    ]
    async with aiomqtt.Client(
        broker.host, broker.port, username=broker.admin_user, password=broker.admin_password
    ) as admin:
        await admin.subscribe(f"{DYNSEC_TOPIC}/response")
        await admin.publish(DYNSEC_TOPIC, json.dumps({"commands": commands}), qos=1)
        async for message in admin.messages:
            answers = json.loads(message.payload)["responses"]
            assert all("error" not in a for a in answers), answers
            return


@pytest.fixture
async def token_home(
    aiohttp_client, dynsec_broker, mqtt_broker_url: str, tmp_path: Path, prefix: str
) -> AsyncIterator[RemoteHome]:
    store = RemoteStore(hub_id=secrets.token_hex(16), broker_url=dynsec_broker.url())
    server = TestServer(store.app())
    await server.start_server()
    cloud_url = str(server.make_url("")).rstrip("/")
    try:
        home = await open_remote_home(
            aiohttp_client, store, cloud_url, tmp_path / "hub", mqtt_broker_url, prefix
        )
        await link(home.hub, cloud_url, client_id=store.hub_id)
        yield home
    finally:
        await server.close()


async def test_a_refused_token_is_replaced_by_a_fresh_one(token_home, dynsec_broker) -> None:
    home = token_home
    good = secrets.token_urlsafe(16)
    await _allow_hub(dynsec_broker, home.hub_id, good)
    home.store.token_script = ["stale-token", good]  # the first one the broker refuses
    await home.share(PLUG)
    await home.wait_connected()
    assert home.store.tokens == ["stale-token", good]
    assert home.remote.uplink.connections == 1
