"""The uplink connects with the MQTT client id the store tied its token to, not one anybody
can derive from the hub id: a broker drops whoever holds a client id when someone else
connects under it. The broker is a private Mosquitto with dynamic security (both tiers),
which takes over a client id as the MQTT specification says."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiomqtt

from tests.hub.ethos_remote.conftest import PLUG
from tests.hub.ethos_remote.home import RemoteHome
from tests.hub.ethos_remote.test_refused_token import _allow_hub
from tests.hub.ethos_remote.test_refused_token import token_home as token_home
from tests.support.waiting import wait_until


@asynccontextmanager
async def _connected(broker, username: str, password: str, identifier: str) -> AsyncIterator[None]:
    async with aiomqtt.Client(
        broker.host, broker.port, username=username, password=password, identifier=identifier
    ) as client:
        await client.publish(f"{username.replace('hub-', 'ethos-home/')}/probe", b"", qos=1)
        yield


async def test_a_client_id_derived_from_the_hub_id_does_not_push_the_hub_off(
    token_home: RemoteHome, dynsec_broker
) -> None:
    home = token_home
    password = secrets.token_urlsafe(16)
    await _allow_hub(dynsec_broker, home.hub_id, password)
    home.store.token_script = [password]
    await home.share(PLUG)
    await home.wait_connected()
    uplink = home.remote.uplink
    assert uplink is not None
    given = home.store.client_ids[-1]
    assert given.startswith(f"hub-{home.hub_id}-") and len(given) == 4 + 32 + 1 + 32
    username = f"hub-{home.hub_id}"
    # Valid credentials, a client id anyone could derive: the hub stays connected.
    for derived in (username, f"{username}-", home.hub_id):
        async with _connected(dynsec_broker, username, password, derived):
            pass
    assert uplink.connections == 1 and uplink.connected.is_set()
    # The control: its own id does take its place (so the id's secrecy is what counts).
    async with _connected(dynsec_broker, username, password, given):
        await wait_until(lambda: not uplink.connected.is_set() or uplink.connections > 1)
