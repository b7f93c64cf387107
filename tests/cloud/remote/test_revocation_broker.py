"""Revocation against the real broker (e2e): a person connected over Web-MQTT with the
store's token is disconnected within 60 s of losing the right, four ways: removed from the
hub's members, the hub unlinked (from the owner's account page, or its registrant's account
deleted), their account deleted.

The client here pings like the /home page does: a silent WebSocket is closed by the broker's
web server after 60 s idle, which once made these tests pass while revocation missed a
connection made a moment before it (the management API did not list it yet).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from cloud.oauth.runtime import OAUTH
from cloud.remote.broker_admin import NoBroker
from cloud.remote.const import RELIST_SECONDS
from cloud.remote.settings import RemoteSettings
from tests.cloud.common import csrf_from
from tests.cloud.remote.conftest import (
    broker_token,
    delete_account,
    hub_session,
    new_person,
    user_id_of,
)
from tests.support.remote_broker import (
    CONNACK_ACCEPTED,
    RemoteBroker,
    mqtt_connect,
    mqtt_subscribe,
)

pytestmark = pytest.mark.e2e_only

REVOCATION_DEADLINE_S = 60  # REMOTE.md: rights taken away end within a minute
MQTT_TIMEOUT_S = 10
PING_EVERY_S = 5.0  # the page's keep-alive is 30 s; any is well within the 60 s idle close
PINGREQ = b"\xc0\x00"
CLOSED = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)


@pytest.fixture
def remote_settings(remote_broker: RemoteBroker) -> RemoteSettings:
    return RemoteSettings(
        mqtt_url=remote_broker.mqtt_url,
        ws_url=remote_broker.ws_url,
        admin_url=remote_broker.admin_url,
    )


@pytest.fixture
def sweep_seconds() -> float:
    # No second sweep during a test: what closes the connection is the store's own
    # disconnect right after the change (the sweep is shown in test_revocation.py).
    return 3600.0


@pytest.fixture
def relist_seconds() -> tuple[float, ...]:
    return RELIST_SECONDS  # the real broker lists a new connection only after a moment


@pytest.fixture
def broker_admin() -> NoBroker:
    return NoBroker()  # the store makes its RabbitMQ admin from ETHOS_REMOTE_BROKER_ADMIN_URL


@pytest.fixture(autouse=True)
def _broker_trusts_the_store(provider, remote_broker: RemoteBroker) -> None:
    assert remote_broker.jwks is not None
    remote_broker.jwks.publish(provider.app[OAUTH].keys().published)


@asynccontextmanager
async def web_mqtt(answer: dict[str, Any], user_id: int) -> AsyncIterator[Any]:
    """Connect as the /home page does, with the store's answer, and subscribe to the home."""
    hub = answer["homes"][0]["hub"]
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(answer["ws_url"], protocols=("mqtt",)) as ws,
    ):
        await ws.send_bytes(mqtt_connect(answer["client_id"], f"user-{user_id}", answer["token"]))
        assert await ws.receive_bytes(timeout=MQTT_TIMEOUT_S) == CONNACK_ACCEPTED
        await ws.send_bytes(mqtt_subscribe(1, f"ethos-home/{hub}/#", qos=0))
        assert (await ws.receive_bytes(timeout=MQTT_TIMEOUT_S))[0] == 0x90  # SUBACK
        yield ws


async def _is_closed_within_deadline(ws: Any) -> bool:
    """Keep the connection alive with PINGREQs; True once the broker closes it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REVOCATION_DEADLINE_S
    while (left := deadline - loop.time()) > 0:
        with contextlib.suppress(ConnectionResetError):  # closing: receive() says so
            await ws.send_bytes(PINGREQ)
        try:
            message = await ws.receive(timeout=min(PING_EVERY_S, left))
        except TimeoutError:
            continue
        if message.type in CLOSED:
            return True
        # A PINGRESP (or a retained message of the home): still open.
        await asyncio.sleep(min(PING_EVERY_S, max(0.0, deadline - loop.time())))
    return False


async def _member_let_in(provider, http, signed_in, hub, unique_id):
    owner = str(await user_id_of(provider, signed_in))
    member, member_sub = await new_person(provider, f"member-{unique_id}@example.org", hub)
    await hub_session(provider, http, hub, owner, member_sub)
    answer = (await broker_token(member)).json()
    assert answer["homes"] and answer["token"]
    return owner, member, int(member_sub), answer


async def test_removed_from_the_members_is_disconnected(provider, http, signed_in, hub, unique_id):
    owner, member, member_id, answer = await _member_let_in(
        provider, http, signed_in, hub, unique_id
    )
    async with web_mqtt(answer, member_id) as ws:
        await hub_session(provider, http, hub, owner)
        assert await _is_closed_within_deadline(ws)
    await member.aclose()


async def test_unlinking_the_hub_disconnects_its_people(
    provider, http, browser, signed_in, hub, unique_id
):
    _, member, member_id, answer = await _member_let_in(provider, http, signed_in, hub, unique_id)
    async with web_mqtt(answer, member_id) as ws:
        await delete_account(browser)  # the registrant goes: the hub's client with it
        assert await _is_closed_within_deadline(ws)
    await member.aclose()


async def test_unlinking_the_hub_from_the_account_page_disconnects_its_people(
    provider, http, browser, signed_in, hub, unique_id
):
    _, member, member_id, answer = await _member_let_in(provider, http, signed_in, hub, unique_id)
    async with web_mqtt(answer, member_id) as ws:
        unlink = f"/account/hubs/{hub.client_id}/unlink"
        page = await browser.http.get(unlink)
        done = await browser.http.post(
            unlink, data={"csrf_token": csrf_from(page.text), "confirm": "unlink"}
        )
        assert done.status_code == 200, done.text
        assert await _is_closed_within_deadline(ws)
    await member.aclose()


async def test_deleting_the_account_disconnects_it(provider, http, signed_in, hub, unique_id):
    _, member, member_id, answer = await _member_let_in(provider, http, signed_in, hub, unique_id)
    async with web_mqtt(answer, member_id) as ws:
        await delete_account(member)
        assert await _is_closed_within_deadline(ws)
    await member.aclose()
