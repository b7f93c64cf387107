"""A linked hub played in Python for the browser tests of /home: the hub's own remote crypto
(``hub.integrations.ethos_remote``: RemotePairing, envelope) over one MQTT connection to the
broker. It pairs browsers that send a hello for an open code, publishes snapshots and events
sealed for the household, opens commands (refusing replays and stale ones, as REMOTE.md says)
and answers them with the reply the test chooses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt

from hub.core.storage import DocumentStore
from hub.integrations.ethos_remote.envelope import (
    CounterClock,
    EnvelopeError,
    ReplayGuard,
    open_sealed,
    seal,
)
from hub.integrations.ethos_remote.handshake import remote_topic
from hub.integrations.ethos_remote.keystore import RemoteKeyStore
from hub.integrations.ethos_remote.pairing import PairingError, RemotePairing

_LOGGER = logging.getLogger(__name__)

COMMAND_WINDOW_US = 120 * 1_000_000


@dataclass
class Command:
    browser: str
    body: dict[str, Any]


@dataclass
class BrokerLogin:
    host: str
    port: int
    username: str | None
    password: str | None
    transport: str = "tcp"
    client_id: str | None = None  # the hub session's (the store's answer); None: any


# What the hub answers a command: (ok, error for a person).
Answer = Callable[[Command], tuple[bool, str | None]]


@dataclass
class StandinHub:
    hub_id: str
    folder: Path
    answer: Answer = lambda command: (True, None)
    commands: list[Command] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pairing: RemotePairing | None = None
        self._client: aiomqtt.Client | None = None
        self._listener: asyncio.Task[None] | None = None
        self._counter = CounterClock()
        self._guard = ReplayGuard()
        self._stack = contextlib.AsyncExitStack()

    @property
    def connected(self) -> bool:
        return self._client is not None

    def topic(self, *parts: str) -> str:
        return remote_topic(self.hub_id, *parts)

    async def async_start(self, login: BrokerLogin) -> None:
        """Connect and listen; the keys come from the folder (made on the first start)."""
        keystore = RemoteKeyStore(DocumentStore(self.folder))
        await keystore.async_load()
        self.pairing = RemotePairing(keystore)
        client = aiomqtt.Client(
            login.host,
            login.port,
            identifier=login.client_id or f"hub-{self.hub_id}-{secrets.token_hex(16)}",
            username=login.username,
            password=login.password,
            transport=login.transport,
        )
        self._client = await self._stack.enter_async_context(client)
        await client.subscribe(self.topic("pair", "+", "hello"))
        await client.subscribe(self.topic("cmd", "+"))
        self._listener = asyncio.create_task(self._async_listen())

    async def async_stop(self) -> None:
        """The hub goes away: its connection closes, nothing more is published."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._stack.aclose()
        self._client = None

    def start_pairing(self, user_id: int = 1) -> str:
        """The code the hub's /remote page shows (XXXXX-XXXXX)."""
        assert self.pairing is not None
        return self.pairing.start_pairing(user_id).code

    def check_of(self, user_id: int = 1) -> str | None:
        assert self.pairing is not None
        paired = self.pairing.pairing_result(user_id)
        return paired.check if paired is not None else None

    def seal(self, topic: str, body: dict[str, Any]) -> bytes:
        assert self.pairing is not None
        return seal(self.pairing.household_key, topic, "hub", self._counter.next(), body)

    async def async_publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        assert self._client is not None
        await self._client.publish(topic, payload, qos=1, retain=retain)

    async def async_publish_snapshot(self, hub_name: str, entities: list[dict[str, Any]]) -> bytes:
        body = {"type": "snapshot", "sent_at": _now(), "hub_name": hub_name, "entities": entities}
        payload = self.seal(self.topic("state"), body)
        await self.async_publish(self.topic("state"), payload, retain=True)
        return payload

    async def async_publish_event(self, entity: dict[str, Any]) -> bytes:
        payload = self.seal(
            self.topic("event"), {"type": "state", "sent_at": _now(), "entity": entity}
        )
        await self.async_publish(self.topic("event"), payload)
        return payload

    async def async_clear(self, topic: str) -> None:
        """Remove a retained message (the test leaves the broker clean)."""
        await self.async_publish(topic, b"", retain=True)

    async def _async_listen(self) -> None:
        assert self._client is not None
        async for message in self._client.messages:
            topic = str(message.topic)
            payload = (
                bytes(message.payload) if isinstance(message.payload, bytes | bytearray) else b""
            )
            parts = topic.split("/")
            try:
                if parts[2:3] == ["pair"] and parts[-1] == "hello":
                    await self._async_hello(parts[3], payload)
                elif parts[2:3] == ["cmd"]:
                    await self._async_command(topic, parts[3], payload)
            except Exception:  # a test helper keeps listening; the test sees what is missing
                _LOGGER.exception("stand-in hub failed on %s", topic)

    async def _async_hello(self, browser: str, payload: bytes) -> None:
        assert self.pairing is not None
        try:
            outgoing = await self.pairing.async_handle_hello(self.hub_id, browser, payload)
        except PairingError as err:
            self.refused.append(f"hello: {err}")
            return
        for message in outgoing:
            await self.async_publish(message.topic, message.payload, message.retain)

    async def _async_command(self, topic: str, browser: str, payload: bytes) -> None:
        assert self.pairing is not None
        try:
            opened = open_sealed(self.pairing.current_keys(), topic, payload)
        except EnvelopeError as err:
            self.refused.append(f"command: {err}")
            return
        if opened.sender != browser or self.pairing.browser_owner(browser) is None:
            self.refused.append("command: not from this topic's paired browser")
            return
        why = self._guard.refusal(opened.sender, topic, opened.counter, window_us=COMMAND_WINDOW_US)
        if why is not None or not self._guard.accept(
            opened.sender, topic, opened.counter, window_us=COMMAND_WINDOW_US
        ):
            self.refused.append(f"command: {why}")
            return
        command = Command(browser, opened.body)
        self.commands.append(command)
        ok, error = self.answer(command)
        reply: dict[str, Any] = {"type": "reply", "id": opened.body.get("id"), "ok": ok}
        if error is not None:
            reply["error"] = error
        await self.async_publish(
            self.topic("reply", browser), self.seal(self.topic("reply", browser), reply)
        )


def _now() -> str:
    return datetime.now(UTC).isoformat()
