"""The test browser pairs and hears the hub through a real broker (amqtt; Mosquitto with
--e2e), as the store's page does: what hub tests and the benchmark stand on."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
import pytest

from hub.core.storage import DocumentStore
from hub.integrations.ethos_remote.crypto_const import HUB_SENDER
from hub.integrations.ethos_remote.envelope import CounterClock, EnvelopeError, HouseholdKey, seal
from hub.integrations.ethos_remote.handshake import remote_topic
from hub.integrations.ethos_remote.keystore import RemoteKeyStore
from hub.integrations.ethos_remote.pairing import PairingError, RemotePairing
from tests.support.remote_browser import RemoteBrowser


@asynccontextmanager
async def mqtt_client(url: str) -> AsyncIterator[aiomqtt.Client]:
    parts = urlsplit(url)
    async with aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or 1883) as client:
        yield client


async def answer_hellos(client: aiomqtt.Client, pairing: RemotePairing, hub: str) -> None:
    """The hub's side of pairing, as the uplink does it."""
    await client.subscribe(remote_topic(hub, "pair", "+", "hello"), qos=1)
    async for message in client.messages:
        browser_id = str(message.topic).split("/")[3]
        payload = message.payload if isinstance(message.payload, bytes) else b""
        try:
            answer = await pairing.async_handle_hello(hub, browser_id, payload)
        except PairingError:
            continue
        for out in answer:
            await client.publish(out.topic, out.payload, qos=1, retain=out.retain)


async def test_pair_then_open_snapshots_and_refuse_a_replay(
    mqtt_broker_url: str, tmp_path: Path
) -> None:
    hub = os.urandom(16).hex()  # topics of this test only
    storage = DocumentStore(tmp_path)
    keystore = RemoteKeyStore(storage)
    await keystore.async_load()
    pairing = RemotePairing(keystore)
    browser = RemoteBrowser(hub, "Chromium on Android")
    clock = CounterClock()
    async with mqtt_client(mqtt_broker_url) as hub_client:
        hub_task = asyncio.create_task(answer_hellos(hub_client, pairing, hub))
        state = remote_topic(hub, "state")
        try:
            await asyncio.sleep(0.2)  # the hub's subscription is in place
            # Retained before the browser pairs: it opens once the key has come.
            snapshot = {"type": "snapshot", "sent_at": "2026-12-05T17:00:00+00:00"}
            payload = seal(pairing.household_key, state, HUB_SENDER, clock.next(), snapshot)
            await hub_client.publish(state, payload, qos=1, retain=True)
            async with mqtt_client(mqtt_broker_url) as client, browser.async_session(client):
                code = pairing.start_pairing(5).code
                check = await browser.async_pair(client, code)
                assert check == pairing.pairing_check(browser.browser_id)
                await browser.async_wait_for(lambda: browser.snapshot == snapshot)

                event_topic = remote_topic(hub, "event")
                event = {"type": "state", "entity": {"entity_id": "switch.a"}}
                sealed = seal(pairing.household_key, event_topic, HUB_SENDER, clock.next(), event)
                await hub_client.publish(event_topic, sealed, qos=1)
                await browser.async_wait_for(lambda: browser.events == [event])
                refused = browser.refused
                await hub_client.publish(event_topic, sealed, qos=1)  # replayed by the broker
                await browser.async_wait_for(lambda: browser.refused == refused + 1)
                assert browser.events == [event]
        finally:
            hub_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await hub_task
            for topic in (state, browser.keys_topic):  # leave a shared broker clean
                await hub_client.publish(topic, b"", qos=1, retain=True)
            await storage.async_close()


async def test_pairing_without_a_session_reads_the_client_itself(
    mqtt_broker_url: str, tmp_path: Path
) -> None:
    hub = os.urandom(16).hex()
    storage = DocumentStore(tmp_path)
    keystore = RemoteKeyStore(storage)
    await keystore.async_load()
    pairing = RemotePairing(keystore)
    browser = RemoteBrowser(hub)
    async with mqtt_client(mqtt_broker_url) as hub_client:
        hub_task = asyncio.create_task(answer_hellos(hub_client, pairing, hub))
        try:
            await asyncio.sleep(0.2)
            async with mqtt_client(mqtt_broker_url) as client:
                check = await browser.async_pair(client, pairing.start_pairing(1).code)
            assert check == pairing.pairing_check(browser.browser_id)
            assert browser.household == pairing.household_key
        finally:
            hub_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await hub_task
            await hub_client.publish(browser.keys_topic, b"", qos=1, retain=True)
            await storage.async_close()


def test_a_reply_overtaken_by_a_later_event_still_opens_but_not_twice() -> None:
    """Issue #19: through RabbitMQ a reply (QoS 1) came after an event (QoS 0) the hub sealed
    after it; MQTT orders per topic only, so the browser must not take it for a replay."""
    hub = os.urandom(16).hex()
    browser = RemoteBrowser(hub)
    browser.household = HouseholdKey.generate()
    clock = CounterClock()
    reply_topic, event_topic = browser.reply_topic, remote_topic(hub, "event")
    older_event = seal(browser.household, event_topic, HUB_SENDER, clock.next(), {"type": "state"})
    reply = {"type": "reply", "id": "c1", "ok": True}
    sealed_reply = seal(browser.household, reply_topic, HUB_SENDER, clock.next(), reply)
    event = seal(browser.household, event_topic, HUB_SENDER, clock.next(), {"type": "state"})
    browser.open(event_topic, event)
    assert browser.open(reply_topic, sealed_reply).body == reply
    for topic, again in ((reply_topic, sealed_reply), (event_topic, event)):
        with pytest.raises(EnvelopeError, match="already received"):
            browser.open(topic, again)
    with pytest.raises(EnvelopeError, match="already received"):
        browser.open(event_topic, older_event)  # older on its own topic: refused
