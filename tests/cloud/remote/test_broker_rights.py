"""The remote broker enforces the rights of REMOTE.md (e2e tier, a real RabbitMQ node).

One node per session (``remote_broker``), fresh hub ids and client ids per test. A refused
subscribe or publish makes RabbitMQ 3.10 close the MQTT connection (3.1.1 has no refusal
code for either), which the client sees as an MqttError; the observer (full rights) shows
that nothing refused got through.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import aiohttp
import aiomqtt
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from cloud.remote.broker_admin import RabbitMQBrokerAdmin
from cloud.remote.broker_tokens import (
    BrokerToken,
    mint_hub_token,
    mint_person_token,
    new_browser_client_id,
    new_hub_client_id,
)
from tests.support.remote_broker import (
    CONNACK_ACCEPTED,
    RawMqtt,
    RemoteBroker,
    mqtt_connect,
    mqtt_publish,
    mqtt_subscribe,
    observe,
)

pytestmark = pytest.mark.e2e_only

MQTT_TIMEOUT = 5.0


@pytest.fixture(scope="module")
def key(remote_broker: RemoteBroker) -> RSAKey:
    """The store's signing key, published in the JWKS the broker reads."""
    key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, auto_kid=True)
    assert remote_broker.jwks is not None
    remote_broker.jwks.publish([key])
    return key


def new_hub() -> str:
    return secrets.token_hex(16)


@asynccontextmanager
async def connected(
    broker: RemoteBroker,
    token: BrokerToken,
    *,
    username: str | None = None,
    client_id: str | None = None,
    transport: str = "tcp",
) -> AsyncIterator[aiomqtt.Client]:
    port = broker.web_mqtt_port if transport == "websockets" else broker.mqtt_port
    async with aiomqtt.Client(
        broker.host,
        port,
        username=username or token.subject,
        password=token.token,
        identifier=client_id or token.client_id or new_browser_client_id(),
        timeout=MQTT_TIMEOUT,
        transport=transport,  # type: ignore[arg-type]
        websocket_path="/ws" if transport == "websockets" else None,
    ) as client:
        yield client


async def connection_refused(broker: RemoteBroker, token: BrokerToken) -> bool:
    client_id = token.client_id or new_browser_client_id()
    async with RawMqtt.connect(broker, client_id, token.subject, token.token) as (_, connack):
        return connack != CONNACK_ACCEPTED


async def _answer(
    broker: RemoteBroker, token: BrokerToken, packet: bytes, client_id: str | None = None
) -> bytes | None:
    client_id = client_id or token.client_id or new_browser_client_id()
    async with RawMqtt.connect(broker, client_id, token.subject, token.token) as (raw, connack):
        assert connack == CONNACK_ACCEPTED
        raw.send(packet)
        return await raw.read()


async def subscribe_refused(
    broker: RemoteBroker, token: BrokerToken, topic: str, client_id: str | None = None
) -> bool:
    """RabbitMQ 3.10 closes the connection (no SUBACK failure code) when it refuses."""
    answer = await _answer(broker, token, mqtt_subscribe(1, topic), client_id)
    assert answer in (None, b"\x90\x03\x00\x01\x01", b"\x90\x03\x00\x01\x80"), answer
    return answer in (None, b"\x90\x03\x00\x01\x80")


async def publish_refused(broker: RemoteBroker, token: BrokerToken, topic: str) -> bool:
    answer = await _answer(broker, token, mqtt_publish(1, topic, b"must not pass"))
    assert answer in (None, b"\x40\x02\x00\x01"), answer
    return answer is None


async def test_a_hub_reads_and_writes_its_own_home(
    remote_broker: RemoteBroker, key: RSAKey
) -> None:
    hub = new_hub()
    async with (
        observe(remote_broker, f"ethos-home/{hub}/#") as seen,
        connected(remote_broker, mint_hub_token(key, hub)) as client,
    ):
        await client.subscribe(f"ethos-home/{hub}/cmd/+", qos=1)
        await client.publish(f"ethos-home/{hub}/state", b"ciphertext", qos=1, retain=True)
        await client.publish(f"ethos-home/{hub}/cmd/abc", b"to itself", qos=1)
        async for message in client.messages:
            assert str(message.topic) == f"ethos-home/{hub}/cmd/abc"
            break
        await seen.async_wait_for(2)
    assert seen.payloads() == [b"ciphertext", b"to itself"]


async def test_a_hub_can_neither_read_nor_write_another_hubs_topics(
    remote_broker: RemoteBroker, key: RSAKey
) -> None:
    hub, other = new_hub(), new_hub()
    token = mint_hub_token(key, hub)
    async with observe(remote_broker, f"ethos-home/{other}/#") as seen:
        for topic in (f"ethos-home/{other}/#", f"ethos-home/{other}/cmd/+", "ethos-home/#", "#",
                      "ethos-home/+/state"):  # fmt: skip
            assert await subscribe_refused(remote_broker, token, topic), topic
        for topic in (f"ethos-home/{other}/state", f"ethos-home/{other}/reply/x", "ethos/x"):
            assert await publish_refused(remote_broker, token, topic), topic
        # The other hub's own message still passes, and is the only one there.
        async with connected(remote_broker, mint_hub_token(key, other)) as client:
            await client.publish(f"ethos-home/{other}/event", b"own", qos=1)
        await seen.async_wait_for(1)
    assert seen.payloads() == [b"own"]


async def test_a_hub_cannot_use_another_hubs_client_id_to_read(
    remote_broker: RemoteBroker, key: RSAKey
) -> None:
    hub, other = new_hub(), new_hub()
    token = mint_hub_token(key, hub)
    topic = f"ethos-home/{hub}/#"
    assert not await subscribe_refused(remote_broker, token, topic)
    assert await subscribe_refused(remote_broker, token, topic, client_id=f"hub-{other}")


async def test_a_person_reads_the_home_and_sends_commands_and_hellos_only(
    remote_broker: RemoteBroker, key: RSAKey
) -> None:
    hub, browser = new_hub(), secrets.token_hex(16)
    client_id = new_browser_client_id()
    person = mint_person_token(key, 7, [hub], client_id=client_id)
    async with (
        observe(remote_broker, f"ethos-home/{hub}/#") as seen,
        connected(remote_broker, person) as tab,
        connected(remote_broker, mint_hub_token(key, hub)) as home,
    ):
        await tab.subscribe(f"ethos-home/{hub}/#", qos=1)
        await home.publish(f"ethos-home/{hub}/event", b"from the hub", qos=1)
        async for message in tab.messages:
            assert message.payload == b"from the hub"
            break
        await tab.publish(f"ethos-home/{hub}/cmd/{browser}", b"command", qos=1)
        await tab.publish(f"ethos-home/{hub}/pair/{browser}/hello", b"hello", qos=1)
        await seen.async_wait_for(3)
    for topic in ("state", "event", f"reply/{browser}", f"keys/{browser}",
                  f"pair/{browser}/welcome"):  # fmt: skip
        assert await publish_refused(
            remote_broker,
            mint_person_token(key, 7, [hub], client_id=new_browser_client_id()),
            f"ethos-home/{hub}/{topic}",
        ), topic
    assert seen.payloads() == [b"from the hub", b"command", b"hello"]


async def test_a_persons_token_cannot_subscribe_to_another_accounts_home(
    remote_broker: RemoteBroker, key: RSAKey
) -> None:
    mine, theirs = new_hub(), new_hub()
    for topic in (f"ethos-home/{theirs}/#", f"ethos-home/{theirs}/state", "ethos-home/+/state",
                  "ethos-home/#", "#"):  # fmt: skip
        person = mint_person_token(key, 7, [mine], client_id=new_browser_client_id())
        assert await subscribe_refused(remote_broker, person, topic), topic
    person = mint_person_token(key, 7, [mine], client_id=new_browser_client_id())
    assert await publish_refused(remote_broker, person, f"ethos-home/{theirs}/cmd/x")


async def test_a_persons_token_is_tied_to_its_client_id(
    remote_broker: RemoteBroker, key: RSAKey
) -> None:
    hub = new_hub()
    person = mint_person_token(key, 7, [hub], client_id=new_browser_client_id())
    topic = f"ethos-home/{hub}/#"
    assert not await subscribe_refused(remote_broker, person, topic)
    assert await subscribe_refused(remote_broker, person, topic, new_browser_client_id())


async def test_anonymous_and_the_admin_are_refused_over_mqtt(remote_broker: RemoteBroker) -> None:
    client_id = new_browser_client_id()
    async with RawMqtt.connect(remote_broker, client_id, None, None) as (_, connack):
        assert connack != CONNACK_ACCEPTED
    admin, password = remote_broker.admin_user, remote_broker.admin_password
    async with RawMqtt.connect(remote_broker, client_id, admin, password) as (_, connack):
        assert connack != CONNACK_ACCEPTED


async def test_tokens_of_another_key_audience_or_expired_are_refused(
    remote_broker: RemoteBroker, key: RSAKey
) -> None:
    hub = new_hub()
    stranger = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, auto_kid=True)
    assert await connection_refused(remote_broker, mint_hub_token(stranger, hub))
    # Another key under the published key's kid: the signature does not verify.
    impostor = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig", "kid": key.kid})
    assert await connection_refused(remote_broker, mint_hub_token(impostor, hub))
    expired = mint_hub_token(key, hub, lifetime=timedelta(seconds=-60))
    assert await connection_refused(remote_broker, expired)
    wrong_audience = _token_with_audience(key, hub, "some_other_service")
    assert await connection_refused(remote_broker, wrong_audience)
    # And the same token with the right audience is fine.
    assert not await connection_refused(remote_broker, mint_hub_token(key, hub))


def _token_with_audience(key: RSAKey, hub: str, audience: str) -> BrokerToken:
    good = mint_hub_token(key, hub)
    claims = dict(jwt.decode(good.token, key).claims, aud=audience)
    token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
    return BrokerToken(token, good.subject, good.client_id, good.expires_in, good.scopes)


async def test_web_mqtt_accepts_a_persons_token(remote_broker: RemoteBroker, key: RSAKey) -> None:
    hub = new_hub()
    client_id = new_browser_client_id()
    person = mint_person_token(key, 8, [hub], client_id=client_id)
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(remote_broker.ws_url, protocols=("mqtt",)) as ws,
    ):
        await ws.send_bytes(mqtt_connect(client_id, person.subject, person.token))
        assert (await ws.receive_bytes(timeout=MQTT_TIMEOUT)) == b"\x20\x02\x00\x00"  # accepted
        await ws.send_bytes(mqtt_subscribe(1, f"ethos-home/{hub}/#", qos=0))
        assert (await ws.receive_bytes(timeout=MQTT_TIMEOUT)) == b"\x90\x03\x00\x01\x00"  # QoS 0
        async with connected(remote_broker, mint_hub_token(key, hub)) as home:
            await home.publish(f"ethos-home/{hub}/event", b"over websocket", qos=1)
        packet = await ws.receive_bytes(timeout=MQTT_TIMEOUT)
    topic = f"ethos-home/{hub}/event".encode()
    assert packet[0] == 0x30 and packet.endswith(
        len(topic).to_bytes(2, "big") + topic + b"over websocket"
    )


async def test_web_mqtt_refuses_anonymous(remote_broker: RemoteBroker) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(remote_broker.ws_url, protocols=("mqtt",)) as ws,
    ):
        await ws.send_bytes(mqtt_connect(new_browser_client_id(), None, None))
        message = await ws.receive(timeout=MQTT_TIMEOUT)
    closed = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    if message.type not in closed:  # a CONNACK with a refusal code
        assert message.data[:3] == b"\x20\x02\x00" and message.data[3] != 0


async def test_the_admin_closes_a_subjects_connections(
    remote_broker: RemoteBroker, key: RSAKey
) -> None:
    hub, bystander = new_hub(), new_hub()
    hub_token = mint_hub_token(key, hub)
    tab_id = new_browser_client_id()
    person = mint_person_token(key, 9, [hub], client_id=tab_id)
    async with (
        aiohttp.ClientSession() as session,
        connected(remote_broker, hub_token) as home,
        connected(
            remote_broker, hub_token, username="pretending", client_id=f"hub-{hub}x"
        ) as renamed,
        connected(remote_broker, person, username="not-me") as tab,
        connected(remote_broker, mint_hub_token(key, bystander)) as other,
    ):
        admin = remote_broker.admin(session)
        subjects: set[str] = set()

        async def listed() -> bool:
            subjects.update(await admin.async_connected_subjects())
            return {f"hub-{hub}", "pretending", "not-me", f"hub-{bystander}"} <= subjects

        await _wait_async(listed)
        assert await admin.async_disconnect(f"hub-{hub}") == 1
        assert await admin.async_disconnect("user-9", client_ids=[tab_id]) == 1
        assert await admin.async_disconnect("pretending") == 1
        for closed in (home, tab, renamed):
            with pytest.raises(aiomqtt.MqttError):
                await closed.publish(f"ethos-home/{hub}/cmd/x", b"after", qos=1)
                await closed.publish(f"ethos-home/{hub}/cmd/x", b"after", qos=1)
        await other.publish(f"ethos-home/{bystander}/state", b"still here", qos=1)
        assert await admin.async_disconnect(f"hub-{hub}") == 0


async def _wait_async(predicate: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    """Poll an async condition (the management API lists a connection within a second)."""
    async with asyncio.timeout(timeout):
        while not await predicate():  # noqa: ASYNC110 (nothing to wait on but the API)
            await asyncio.sleep(0.2)


async def test_the_observer_sees_what_passes_through_every_home(
    remote_broker: RemoteBroker, key: RSAKey
) -> None:
    """The capture the plaintext check reads: every home's messages (live, so unretained)."""
    first, second = new_hub(), new_hub()
    async with observe(remote_broker, "ethos-home/#") as seen:
        for hub in (first, second):
            async with connected(remote_broker, mint_hub_token(key, hub)) as home:
                await home.publish(f"ethos-home/{hub}/state", hub.encode(), qos=1, retain=True)
        await seen.async_wait_for(2)
        # Clear the retained snapshots so the shared node keeps nothing of this test.
        for hub in (first, second):
            async with connected(remote_broker, mint_hub_token(key, hub)) as home:
                await home.publish(f"ethos-home/{hub}/state", b"", qos=1, retain=True)
        await seen.async_wait_for(4)
    mine = [(t, p, r) for t, p, r in seen.messages if first in t or second in t]
    assert mine[:2] == [
        (f"ethos-home/{first}/state", first.encode(), False),
        (f"ethos-home/{second}/state", second.encode(), False),
    ]


async def test_an_expired_token_keeps_its_subscription_until_the_admin_closes_it(
    remote_broker: RemoteBroker, key: RSAKey
) -> None:
    """RabbitMQ 3.10 checks a token at connect and at each new use, never closes the
    connection when it expires: revoking rights is the store's BrokerAdmin's job."""
    hub = new_hub()
    client_id = new_browser_client_id()
    short = mint_person_token(key, 11, [hub], client_id=client_id, lifetime=timedelta(seconds=2))
    async with (
        aiohttp.ClientSession() as session,
        RawMqtt.connect(remote_broker, client_id, short.subject, short.token) as (tab, connack),
    ):
        assert connack == CONNACK_ACCEPTED
        tab.send(mqtt_subscribe(1, f"ethos-home/{hub}/#", qos=0))
        assert await tab.read() == b"\x90\x03\x00\x01\x00"
        admin = remote_broker.admin(session)
        await _wait_async(lambda: _listed(admin, "user-11"))
        await asyncio.sleep(3)  # past the token's expiry
        async with connected(remote_broker, mint_hub_token(key, hub)) as home:
            await home.publish(f"ethos-home/{hub}/event", b"after expiry", qos=1)
        delivered = await tab.read()
        assert delivered is not None and delivered.endswith(b"after expiry")
        assert await admin.async_disconnect("user-11", client_ids=[client_id]) == 1
        assert await tab.read() is None


async def _listed(admin: RabbitMQBrokerAdmin, subject: str) -> bool:
    return subject in await admin.async_connected_subjects()


async def test_a_hub_session_cannot_be_taken_over_by_a_client_id_anyone_can_derive(
    remote_broker: RemoteBroker, key: RSAKey
) -> None:
    """RabbitMQ 3.10's MQTT plugin drops the holder of a client id before it checks the
    newcomer's rights. So a hub connects under its session's unguessable client id: other
    tokens that connect as ``hub-<hub>`` (the old id) or any id derived from the hub id
    leave it connected; only its exact id, which only its token carries, would not."""
    hub, other = new_hub(), new_hub()
    token = mint_hub_token(key, hub)
    assert token.client_id is not None and token.client_id != f"hub-{hub}"
    intruders = (
        mint_person_token(key, 12, [other], client_id=new_browser_client_id()),
        mint_hub_token(key, other),
        mint_hub_token(key, hub),  # even a token of the same hub, another session
    )
    derived = (f"hub-{hub}", f"hub-{hub}-", f"hub-{hub}-" + "0" * 32, f"hub-{hub}x", hub)
    async with RawMqtt.connect(remote_broker, token.client_id, token.subject, token.token) as (
        home,
        connack,
    ):
        assert connack == CONNACK_ACCEPTED
        home.send(mqtt_subscribe(1, f"ethos-home/{hub}/cmd/+"))  # its queue, not its events
        assert await home.read() == b"\x90\x03\x00\x01\x01"
        packet_id = 2
        for intruder in intruders:
            for client_id in derived:
                async with RawMqtt.connect(
                    remote_broker, client_id, intruder.subject, intruder.token
                ):
                    pass  # accepted or not: what matters is the hub's connection
                home.send(mqtt_publish(packet_id, f"ethos-home/{hub}/event", b"still here"))
                puback = await home.read()
                assert puback == b"\x40\x02\x00" + bytes([packet_id]), (intruder, client_id)
                packet_id += 1
        # The control: the broker still drops whoever holds an id that is taken over,
        # so it is the id's secrecy that kept the hub connected above.
        async with RawMqtt.connect(
            remote_broker, token.client_id, intruders[0].subject, intruders[0].token
        ):
            assert await home.read() is None


async def test_a_hub_token_has_queue_rights_only_under_its_own_session_client_id(
    remote_broker: RemoteBroker, key: RSAKey
) -> None:
    hub = new_hub()
    token = mint_hub_token(key, hub)
    topic = f"ethos-home/{hub}/#"
    assert not await subscribe_refused(remote_broker, token, topic)
    for client_id in (f"hub-{hub}", new_hub_client_id(hub), f"hub-{hub}-", new_browser_client_id()):
        assert await subscribe_refused(remote_broker, token, topic, client_id), client_id


async def test_a_new_signing_key_is_fetched_from_the_jwks(
    remote_broker: RemoteBroker, key: RSAKey
) -> None:
    """The store rotates its key ring: the broker reads the JWKS again for an unknown kid."""
    hub = new_hub()
    assert not await connection_refused(remote_broker, mint_hub_token(key, hub))
    rotated = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, auto_kid=True)
    assert await connection_refused(remote_broker, mint_hub_token(rotated, hub))
    assert remote_broker.jwks is not None
    remote_broker.jwks.publish([rotated])
    assert not await connection_refused(remote_broker, mint_hub_token(rotated, hub))
    assert not await connection_refused(remote_broker, mint_hub_token(key, hub))
