"""A paired browser of remote access, in Python, for hub tests and benchmarks.

It does what the store's JavaScript does (REMOTE.md): makes an ECDH key and a browser id,
pairs with a code (hello, then checks the welcome's MAC), unwraps the household key from
its keys topic, opens the hub's snapshots and events (refusing replays), seals commands.
The message-level methods need no network; the ``async_`` ones drive an aiomqtt client
given to it (connected to the broker, owned by the caller).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import uuid
from typing import Any

import aiomqtt

from hub.integrations.ethos_remote.crypto_const import HUB_SENDER
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

    # Topics ----------------------------------------------------------------------
    @property
    def cmd_topic(self) -> str:
        return remote_topic(self.hub, "cmd", self.browser_id)

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
        """A hub message (snapshot, event, reply), refusing replays; EnvelopeError if not."""
        if self.household is None:
            raise EnvelopeError("no household key")
        opened = open_sealed(self.household, topic, payload)
        if opened.sender != HUB_SENDER:
            raise EnvelopeError(f"a message from {opened.sender}, not from the hub")
        self._guard.accept(opened.sender, opened.counter)
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

    # Over MQTT -------------------------------------------------------------------
    async def async_pair(self, client: aiomqtt.Client, code: str, timeout: float = 10) -> str:
        """Pair through the broker: hello, welcome, keys. The check digits."""
        await client.subscribe(welcome_topic(self.hub, self.browser_id))
        await client.subscribe(self.keys_topic)
        loop = asyncio.get_running_loop()
        hello = await loop.run_in_executor(None, self.hello, code)
        await client.publish(hello_topic(self.hub, self.browser_id), hello)
        async with asyncio.timeout(timeout):
            async for message in client.messages:
                topic, payload = str(message.topic), bytes(message.payload)  # type: ignore[arg-type]
                if topic == welcome_topic(self.hub, self.browser_id):
                    self.accept_welcome(payload)
                elif topic == self.keys_topic and self.hub_pub is not None and payload:
                    self.accept_keys(payload)
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
        """Publish a command; its id (the reply carries it)."""
        command_id, payload = self.command(entity_id, service, data)
        await client.publish(self.cmd_topic, payload)
        return command_id
