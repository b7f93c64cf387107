"""A home whose broker enforces identity: a Mosquitto with dynamic security, the hub as its
admin (web app, signed-in owner) linked to a scripted store, Ethos devices that log in with
the password derived from their claim secret, and MQTT clients for attackers.

The store is the scripted one of test_sync_resilience: units enter and leave the account
by editing its list, which the real store cannot do on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiomqtt
import ha_discovery
from aiohttp.test_utils import TestClient
from claim import answer_challenge

from ethos.tasks import async_cancel_and_wait
from hub.core.hub import Hub
from hub.integrations.ethos_cloud import CloudRuntime, async_secret_box, cloud_runtime
from hub.integrations.ethos_cloud.const import (
    DATA_CLAIM_TIMEOUT,
    DATA_POLL_INTERVAL,
    DATA_REFRESH_TOKEN,
    DOMAIN,
    EXTRA_KEY,
)
from hub.integrations.mqtt.runtime import mqtt_runtime
from hub.web.auth.users import Principal
from hub.web.keys import HUB_KEY
from tests.hub.ethos_cloud.test_sync_resilience import ScriptedStore, unit
from tests.support.dynsec_broker import DynsecBroker
from tests.support.waiting import wait_until

if TYPE_CHECKING:
    from hub.integrations.mqtt.broker_identity import BrokerIdentity

CLAIM_TIMEOUT_S = 1.0
PIN_EXTRA_KEY = "ethos_pin"  # where the hub notes a device's pinned and held discovery
OWNER_EMAIL = "owner@example.org"


def device_password(secret_hex: str) -> str:
    """DESIGN.md's device login: hex HMAC-SHA256(claim_secret, "ethos-mqtt-v1")."""
    return hmac.new(bytes.fromhex(secret_hex), b"ethos-mqtt-v1", hashlib.sha256).hexdigest()


@contextlib.asynccontextmanager
async def mqtt_session(
    broker: DynsecBroker, username: str | None = None, password: str | None = None
) -> AsyncIterator[aiomqtt.Client]:
    """A plain MQTT client; raises aiomqtt.MqttCodeError when the broker refuses it."""
    async with aiomqtt.Client(
        broker.host,
        broker.port,
        username=username,
        password=password,
        identifier=f"test-{secrets.token_hex(4)}",
    ) as client:
        yield client


async def refused(broker: DynsecBroker, username: str | None, password: str | None) -> bool:
    try:
        async with mqtt_session(broker, username, password):
            return False
    except aiomqtt.MqttCodeError:
        return True


async def wait_for(
    check: Callable[[], Awaitable[object]], wanted: object, timeout: float = 10.0
) -> None:
    """Poll an asynchronous check (a broker round trip) until it gives ``wanted``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while await check() != wanted:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still not {wanted!r} after {timeout} s")
        await asyncio.sleep(0.05)


@dataclass
class Listener:
    """The hub's view of the broker (its admin account sees every topic)."""

    client: aiomqtt.Client
    messages: list[tuple[str, str]] = field(default_factory=list)

    async def consume(self) -> None:
        async for message in self.client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            self.messages.append((message.topic.value, payload.decode(errors="replace")))

    def payloads(self, topic: str) -> list[str]:
        return [p for t, p in self.messages if t == topic]


@contextlib.asynccontextmanager
async def listening(broker: DynsecBroker, *filters: str) -> AsyncIterator[Listener]:
    async with mqtt_session(broker, broker.admin_user, broker.admin_password) as client:
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=1)
        listener = Listener(client)
        task = asyncio.get_running_loop().create_task(listener.consume())
        try:
            yield listener
        finally:
            await async_cancel_and_wait(task)


class EthosDevice:
    """An Ethos device on its own broker account: announces the firmware's discovery and
    answers claim challenges while ``answering`` is set."""

    def __init__(self, client: aiomqtt.Client, serial: str, secret_hex: str, prefix: str):
        self.client = client
        self.serial = serial
        self.secret = bytes.fromhex(secret_hex)
        self.prefix = prefix
        self.answering = True
        self.challenges = 0

    async def announce(self) -> None:
        await self.client.publish(f"ethos/{self.serial}/status", "online", qos=1, retain=True)
        for topic, payload in ha_discovery.discovery_messages(self.serial, self.prefix):
            await self.client.publish(topic, payload, qos=1, retain=True)
        await self.client.publish(f"ethos/{self.serial}/occupancy", "OFF", qos=1, retain=True)

    async def serve(self) -> None:
        async for message in self.client.messages:
            if message.topic.value != f"ethos/{self.serial}/claim/challenge":
                continue
            self.challenges += 1
            if self.answering and isinstance(message.payload, bytes):
                answer = answer_challenge(self.secret, message.payload)
                await self.client.publish(f"ethos/{self.serial}/claim/response", answer, qos=1)

    def config(self, component: str, object_id: str) -> dict:
        for topic, payload in ha_discovery.discovery_messages(self.serial, self.prefix):
            if topic == ha_discovery.config_topic(component, self.serial, object_id, self.prefix):
                return json.loads(payload)
        raise KeyError(object_id)


@contextlib.asynccontextmanager
async def ethos_device(
    broker: DynsecBroker, serial: str, secret_hex: str, prefix: str, *, answering: bool = True
) -> AsyncIterator[EthosDevice]:
    """A device on its own broker account; ``answering`` is set before it announces itself,
    since the hub may challenge it before the announcement's acknowledgement comes back."""
    async with mqtt_session(broker, serial, device_password(secret_hex)) as client:
        device = EthosDevice(client, serial, secret_hex, prefix)
        device.answering = answering
        await client.subscribe(f"ethos/{serial}/claim/challenge", qos=1)
        task = asyncio.get_running_loop().create_task(device.serve())
        await device.announce()
        try:
            yield device
        finally:
            await async_cancel_and_wait(task)


@dataclass
class IdentityHome:
    client: TestClient
    owner: Principal
    store: ScriptedStore
    broker: DynsecBroker
    prefix: str
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def hub(self) -> Hub:
        return self.client.server.app[HUB_KEY]  # type: ignore[union-attr]

    @property
    def identity(self) -> BrokerIdentity:
        return mqtt_runtime(self.hub).identity

    @property
    def runtime(self) -> CloudRuntime:
        runtime = cloud_runtime(self.hub)
        assert runtime is not None
        return runtime

    async def wait_enforced(self) -> None:
        """Until the hub has checked the broker and found identity enforced."""
        await wait_until(lambda: self.identity.enforced, timeout=15)

    def form(self, **fields: str) -> dict[str, str]:
        return {"csrf": self.owner.csrf_token, **fields}

    async def own(self, serial: str) -> str:
        """The store reports the unit owned; once the hub has synced, the device can log in.
        Returns its claim secret (hex)."""
        owned = unit(serial)
        self.store.devices.append(owned)
        self.secrets[serial] = owned["claim_secret"]
        await self.runtime.sync.async_sync_once()
        password = device_password(owned["claim_secret"])
        await wait_for(lambda: refused(self.broker, serial, password), False)
        return owned["claim_secret"]

    async def disown(self, serial: str) -> None:
        """The unit leaves the account; once the hub has synced, its login is refused."""
        self.store.devices[:] = [d for d in self.store.devices if d["serial"] != serial]
        await self.runtime.sync.async_sync_once()
        password = device_password(self.secrets[serial])
        await wait_for(lambda: refused(self.broker, serial, password), True)

    def adoption(self, serial: str) -> dict:
        for device in self.hub.devices.async_all():
            if any(pair[-1] == f"ethos:{serial}" for pair in device.identifiers):
                return device.extra.get(EXTRA_KEY) or {}
        return {}

    def pin(self, serial: str) -> dict:
        for device in self.hub.devices.async_all():
            if any(pair[-1] == f"ethos:{serial}" for pair in device.identifiers):
                return device.extra.get(PIN_EXTRA_KEY) or {}
        return {}

    def device_id(self, serial: str) -> str:
        for device in self.hub.devices.async_all():
            if any(pair[-1] == f"ethos:{serial}" for pair in device.identifiers):
                return device.id
        raise AssertionError(f"no device {serial}")

    async def verified_device(self, serial: str) -> str:
        """Wait until the device is adopted, verified and its discovery pinned; its id."""
        await wait_until(lambda: self.adoption(serial).get("verified"), timeout=15)
        if "mqtt_discovery_pin" in self.hub.data:  # a hub that pins: wait until it has
            await wait_until(lambda: len(self.pin(serial).get("configs", {})) >= 14, 15)
        return self.device_id(serial)


async def link(hub: Hub, cloud_url: str, client_id: str = "hub-1") -> None:
    """Link as onboarding would have (the link itself is tested in test_link_and_adopt)."""
    box = await async_secret_box(hub)
    data = {
        "cloud_url": cloud_url,
        "client_id": client_id,
        "client_secret_enc": box.seal("secret"),
        "redirect_uri": "http://127.0.0.1:8181/auth/callback",
        DATA_REFRESH_TOKEN: box.seal("refresh-0"),
        "account_subject": "1",
        "account_email": OWNER_EMAIL,
        DATA_POLL_INTERVAL: 3600,  # the tests drive the rounds
        DATA_CLAIM_TIMEOUT: CLAIM_TIMEOUT_S,
    }
    await hub.config_entries.async_add(DOMAIN, OWNER_EMAIL, data)


SignIn = Callable[[TestClient, str, str], Awaitable[Principal]]
