"""A paired browser of remote access, in Python, for hub tests and benchmarks.

It does what the store's JavaScript does (REMOTE.md): makes an ECDH key and a browser id,
pairs with a code (hello, then checks the welcome's MAC), unwraps the household key from
its keys topic, opens the hub's snapshots and events (refusing replays per topic), seals commands.
The message-level methods need no network; ``async_session(client)`` drives an aiomqtt
client given to it (connected to the broker, owned by the caller): pair, receive, command.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import re
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiomqtt

from hub.integrations.ethos_remote.crypto_const import (
    HUB_SENDER,
    MAX_SNAPSHOT_PARTS,
    SNAPSHOT_ID_HEX_CHARS,
)
from hub.integrations.ethos_remote.envelope import (
    CounterClock,
    EnvelopeError,
    HouseholdKey,
    Opened,
    ReplayGuard,
    b64decode,
    b64encode,
    compact_json,
    open_sealed,
    seal,
)
from hub.integrations.ethos_remote.handshake import (
    check_digits,
    hello_mac,
    hello_topic,
    keys_topic,
    new_private_key,
    normalize_code,
    open_keys_message,
    pairing_key,
    public_point,
    remote_topic,
    welcome_mac,
    welcome_topic,
    wrap_key,
)

_SNAPSHOT_ID = re.compile(rf"[0-9a-f]{{{SNAPSHOT_ID_HEX_CHARS}}}")
MAX_PENDING_SNAPSHOTS = 2  # snapshots being assembled at once; the oldest is dropped first


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("a part number is an integer")
    return value


class SnapshotAssembler:
    """Puts a snapshot's parts together (REMOTE.md, "Snapshot parts"), as the page does:
    a snapshot is complete when every part of one snapshot id came; parts of two snapshots
    are never mixed; more than ``MAX_SNAPSHOT_PARTS`` parts, a part on another part's
    topic, or a part count that changes within a snapshot is refused (ValueError)."""

    def __init__(self) -> None:
        self._pending: OrderedDict[str, tuple[int, dict[int, dict[str, Any]]]] = OrderedDict()

    def add(self, part_on_topic: int, body: dict[str, Any]) -> dict[str, Any] | None:
        """The whole snapshot once ``body`` (opened from part topic ``part_on_topic``)
        completes it; None while parts are missing."""
        if not {"parts", "part", "snapshot"} & body.keys():  # a hub from before parts
            if part_on_topic != 0:
                raise ValueError("a snapshot without parts comes whole on the state topic")
            return body
        parts, part = _count(body.get("parts")), _count(body.get("part"))
        snapshot_id = body.get("snapshot")
        if not 1 <= parts <= MAX_SNAPSHOT_PARTS or not 0 <= part < parts:
            raise ValueError(f"part {part} of {parts}: at most {MAX_SNAPSHOT_PARTS} parts")
        if part != part_on_topic:
            raise ValueError(f"part {part} came on the topic of part {part_on_topic}")
        if not isinstance(snapshot_id, str) or not _SNAPSHOT_ID.fullmatch(snapshot_id):
            raise ValueError("a snapshot id is 16 lowercase hex characters")
        if not isinstance(body.get("entities"), list):
            raise ValueError("a snapshot part lists entities")
        expected, got = self._pending.get(snapshot_id, (parts, {}))
        if expected != parts:
            raise ValueError(f"snapshot {snapshot_id} has {expected} parts, not {parts}")
        got[part] = body
        self._pending[snapshot_id] = (parts, got)
        while len(self._pending) > MAX_PENDING_SNAPSHOTS:
            self._pending.popitem(last=False)
        if len(got) < parts:
            return None
        del self._pending[snapshot_id]
        entities = [entity for index in range(parts) for entity in got[index]["entities"]]
        return {**got[0], "entities": entities}


class RemoteBrowser:
    """One browser of one hub: its keys, its counters and what it last heard."""

    def __init__(self, hub: str, name: str = "Test browser", browser_id: str | None = None):
        self.hub = hub
        self.name = name
        self.browser_id = browser_id or os.urandom(16).hex()
        self._private = new_private_key()
        self.pub = b64encode(public_point(self._private))
        self._pk: bytes | None = None
        self.hub_pub: bytes | None = None
        self.check: str | None = None
        self.household: HouseholdKey | None = None
        self._clock = CounterClock()
        self._guard = ReplayGuard()
        self.snapshot: dict[str, Any] | None = None
        self.events: list[dict[str, Any]] = []
        self.replies: dict[str, dict[str, Any]] = {}
        self.refused = 0  # hub-topic messages that did not open (tampered, replayed, old key)
        self._waiters: list[tuple[Callable[[], Any], asyncio.Future[None]]] = []
        self._client: aiomqtt.Client | None = None
        self._assembler = SnapshotAssembler()
        # Snapshot parts retained before the key they are sealed under came (per topic).
        self._unopened_state: dict[str, bytes] = {}

    # Topics ----------------------------------------------------------------------
    @property
    def cmd_topic(self) -> str:
        return remote_topic(self.hub, "cmd", self.browser_id)

    @property
    def state_topic(self) -> str:
        return remote_topic(self.hub, "state")

    @property
    def state_part_topics(self) -> list[str]:
        """Where a snapshot's parts are retained: part 0 on ``state``, part i on ``state/i``."""
        return [self.state_topic] + [
            remote_topic(self.hub, "state", str(part)) for part in range(1, MAX_SNAPSHOT_PARTS)
        ]

    @property
    def event_topic(self) -> str:
        return remote_topic(self.hub, "event")

    @property
    def reply_topic(self) -> str:
        return remote_topic(self.hub, "reply", self.browser_id)

    @property
    def keys_topic(self) -> str:
        return keys_topic(self.hub, self.browser_id)

    # Messages ----------------------------------------------------------------------
    def hello(self, code: str) -> bytes:
        """The hello for ``code`` as a person typed it (PBKDF2: ~50 ms)."""
        self._pk = pairing_key(normalize_code(code), self.hub)
        mac = hello_mac(self._pk, self.hub, self.browser_id, self.pub, self.name)
        return compact_json(
            {
                "v": 1,
                "browser": self.browser_id,
                "name": self.name,
                "pub": self.pub,
                "mac": b64encode(mac),
            }
        )

    def accept_welcome(self, payload: bytes) -> str:
        """Check the welcome's MAC (only the hub that knew the code can make it); the check
        digits to compare with the hub's page. EnvelopeError if it is not the hub's."""
        if self._pk is None:
            raise EnvelopeError("no hello was sent")
        welcome = json.loads(payload)
        expected = welcome_mac(self._pk, self.hub, self.browser_id, welcome["pub"], self.pub)
        if not hmac.compare_digest(b64decode(welcome["mac"]), expected):
            raise EnvelopeError("the welcome's MAC is wrong: not the hub that showed the code")
        self.hub_pub = b64decode(welcome["pub"])
        self.check = check_digits(self.hub_pub, public_point(self._private))
        if welcome["check"] != self.check:
            raise EnvelopeError("the welcome's check digits do not match")
        return self.check

    def accept_keys(self, payload: bytes) -> HouseholdKey | None:
        """The household key from this browser's keys topic (None: the topic was cleared)."""
        if not payload:
            self.household = None
            return None
        if self.hub_pub is None:
            raise EnvelopeError("not paired: no hub key to unwrap with")
        wrap = wrap_key(self._private, self.hub_pub, self.hub, self.browser_id)
        self.household = open_keys_message(wrap, payload, self.hub, self.browser_id)
        return self.household

    def open(self, topic: str, payload: bytes) -> Opened:
        """A hub message (snapshot, event, reply), refusing replays on its topic (MQTT orders
        per topic only, REMOTE.md); EnvelopeError if not."""
        if self.household is None:
            raise EnvelopeError("no household key")
        opened = open_sealed(self.household, topic, payload)
        if opened.sender != HUB_SENDER:
            raise EnvelopeError(f"a message from {opened.sender}, not from the hub")
        refusal = self._guard.refusal(opened.sender, topic, opened.counter)
        if refusal is not None:
            raise EnvelopeError(refusal)
        self._guard.accept(opened.sender, topic, opened.counter)
        return opened

    def command(
        self, entity_id: str, service: str, data: dict[str, Any] | None = None
    ) -> tuple[str, bytes]:
        """(command id, sealed command) for this browser's command topic."""
        if self.household is None:
            raise EnvelopeError("no household key")
        command_id = str(uuid.uuid4())
        body = {
            "type": "command",
            "id": command_id,
            "entity_id": entity_id,
            "service": service,
            "data": data or {},
        }
        return command_id, seal(
            self.household, self.cmd_topic, self.browser_id, self._clock.next(), body
        )

    def handle(self, topic: str, payload: bytes) -> None:
        """Take one message the broker delivered (welcome, keys, snapshot, event, reply);
        what does not open is counted in ``refused`` and otherwise ignored, as a page does."""
        try:
            if topic == welcome_topic(self.hub, self.browser_id):
                self.accept_welcome(payload)
            elif topic == self.keys_topic:
                if payload and self.hub_pub is None:
                    return  # retained from an earlier pairing: not ours to open yet
                if self.accept_keys(payload) is not None and self._unopened_state:
                    # The retained snapshot came before the key it is sealed under.
                    pending, self._unopened_state = self._unopened_state, {}
                    for held_topic in self.state_part_topics:
                        if held_topic in pending:
                            self.handle(held_topic, pending[held_topic])
            elif topic in self.state_part_topics and payload:
                body = self.open(topic, payload).body
                if body.get("type") == "snapshot":
                    whole = self._assembler.add(self.state_part_topics.index(topic), body)
                    self.snapshot = whole if whole is not None else self.snapshot
            elif topic in (self.event_topic, self.reply_topic) and payload:
                body = self.open(topic, payload).body
                if body.get("type") == "reply":
                    self.replies[str(body.get("id"))] = body
                else:
                    self.events.append(body)
        except (EnvelopeError, ValueError, KeyError, TypeError):
            self.refused += 1
            if topic in self.state_part_topics:
                self._unopened_state[topic] = payload
        for waiter in [w for w in self._waiters if not w[1].done() and w[0]()]:
            waiter[1].set_result(None)

    async def async_wait_for(self, condition: Callable[[], Any], timeout: float = 10) -> None:
        """Until ``condition()`` holds (checked after each message)."""
        if condition():
            return
        waiter = (condition, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter[1]
        finally:
            self._waiters.remove(waiter)

    # Over MQTT -------------------------------------------------------------------
    @asynccontextmanager
    async def async_session(self, client: aiomqtt.Client) -> AsyncIterator[RemoteBrowser]:
        """Subscribe to this browser's topics and read ``client``'s messages until the
        block ends (the only reader of that client meanwhile)."""
        for topic in (
            welcome_topic(self.hub, self.browser_id),
            self.keys_topic,
            *self.state_part_topics,
            self.event_topic,
            self.reply_topic,
        ):
            await client.subscribe(topic, qos=1)
        self._client = client
        reader = asyncio.get_running_loop().create_task(self._async_read(client))
        try:
            yield self
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self._client = None

    async def _async_read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            self.handle(str(message.topic), payload if isinstance(payload, bytes) else b"")

    def _session_client(self) -> aiomqtt.Client:
        if self._client is None:
            raise RuntimeError("use RemoteBrowser.async_session(client) first")
        return self._client

    async def async_pair(self, client: aiomqtt.Client, code: str, timeout: float = 10) -> str:
        """Pair through the broker: hello, then the welcome and keys. The check digits.
        Inside ``async_session(client)`` the session's reader hears the answer; otherwise
        this reads ``client``'s messages itself until paired."""
        hello = await asyncio.get_running_loop().run_in_executor(None, self.hello, code)
        if self._client is client:
            await client.publish(hello_topic(self.hub, self.browser_id), hello, qos=1)
            await self.async_wait_for(
                lambda: self.check is not None and self.household is not None, timeout
            )
            assert self.check is not None
            return self.check
        await client.subscribe(welcome_topic(self.hub, self.browser_id), qos=1)
        await client.subscribe(self.keys_topic, qos=1)
        await client.publish(hello_topic(self.hub, self.browser_id), hello, qos=1)
        async with asyncio.timeout(timeout):
            async for message in client.messages:
                payload = message.payload if isinstance(message.payload, bytes) else b""
                self.handle(str(message.topic), payload)
                if self.check is not None and self.household is not None:
                    return self.check
        raise EnvelopeError("the connection ended before pairing finished")

    async def async_send_command(
        self,
        client: aiomqtt.Client,
        entity_id: str,
        service: str,
        data: dict[str, Any] | None = None,
    ) -> str:
        """Publish a command on ``client``; its id (the reply carries it)."""
        command_id, payload = self.command(entity_id, service, data)
        await client.publish(self.cmd_topic, payload, qos=1)
        return command_id

    async def async_command(
        self,
        entity_id: str,
        service: str,
        data: dict[str, Any] | None = None,
        timeout: float = 10,
    ) -> dict[str, Any]:
        """Send a command and wait for its reply."""
        command_id = await self.async_send_command(self._session_client(), entity_id, service, data)
        await self.async_wait_for(lambda: command_id in self.replies, timeout)
        return self.replies.pop(command_id)
