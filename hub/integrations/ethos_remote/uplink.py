"""The hub's one outbound connection to the remote broker.

It logs in as ``hub-<client_id>`` with the store's short-lived token and the MQTT client
id the store tied that token to (new each session, unguessable), listens for commands
and pairing hellos, and publishes sealed: the snapshot of the shared entities (retained, on
change at most once a second and every 30 s), one event per change of a shared entity, the
replies, and the key store's key messages. It reconnects with backoff (1 s doubling to
60 s, with jitter); a broker that refuses the login gets a fresh token next time. Nothing
here is awaited by the hub's own work: losing the broker changes nothing at home.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from ethos.tasks import async_cancel_and_wait
from hub.const import EVENT_STATE_CHANGED
from hub.core.callback import callback
from hub.core.events import Event
from hub.integrations.ethos_cloud.client import CloudAuthError, CloudError
from hub.integrations.ethos_cloud.models import RemoteHubSession
from hub.integrations.ethos_remote import envelope
from hub.integrations.ethos_remote.commands import CommandGate, reply
from hub.integrations.ethos_remote.const import (
    CMD_TOPIC,
    DISCONNECT_TIMEOUT_S,
    EVENT_TOPIC,
    HEARTBEAT_S,
    HELLO_TOPIC,
    HUB_USERNAME_PREFIX,
    MAX_QUEUED_EVENTS,
    MAX_RUNNING_COMMANDS,
    REPLY_TOPIC,
    SNAPSHOT_MIN_INTERVAL_S,
    STATE_PART_TOPIC,
    STATE_TOPIC,
    TOKEN_REFRESH_MARGIN_S,
)
from hub.integrations.ethos_remote.crypto_const import (
    HUB_SENDER,
    MAX_PAYLOAD_BYTES,
    MAX_SNAPSHOT_PARTS,
)
from hub.integrations.ethos_remote.pairing import PairingError
from hub.integrations.ethos_remote.snapshot import snapshot_parts, state_event
from hub.integrations.mqtt.client import BrokerAddress, reconnect_delay

if TYPE_CHECKING:
    from hub.core.hub import Hub
    from hub.integrations.ethos_remote.handshake import Outgoing
    from hub.integrations.ethos_remote.pairing import RemotePairing
    from hub.integrations.ethos_remote.sharing import Sharing

_LOGGER = logging.getLogger(__name__)
BROWSER_ID = re.compile(r"^[0-9a-f]{32}$")
KEEPALIVE_S = 30
# A session source: the store's answer, a fresh one when asked (the old token was refused).
SessionSource = Callable[[bool], Awaitable[RemoteHubSession]]


class TokenExpiring(Exception):
    """The token is about to expire: reconnect at once with the fresh one."""


class Uplink:
    """Connects while started; ``async_stop`` ends it (optionally clearing the snapshot)."""

    def __init__(
        self,
        hub: Hub,
        hub_id: str,
        sharing: Sharing,
        gate: CommandGate,
        keys: RemotePairing,
        async_session: SessionSource,
    ) -> None:
        self._hub = hub
        self.hub_id = hub_id
        self._sharing = sharing
        self.gate = gate
        self._keys = keys
        self._async_session = async_session
        self._clock = envelope.CounterClock()
        self._client: aiomqtt.Client | None = None
        self._root = ""
        self._task: asyncio.Task[None] | None = None
        self._snapshot_due = asyncio.Event()
        # Parts of the last snapshot still retained on the broker; unknown at first (an
        # earlier run may have left more), so the first snapshot clears every other part.
        self._retained_parts = MAX_SNAPSHOT_PARTS
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_QUEUED_EVENTS)
        self._commands: set[asyncio.Task[None]] = set()
        self._unlisten: Callable[[], None] | None = None
        self.connected = asyncio.Event()
        self.connections = 0
        self.dropped_events = 0
        self.last_error: str | None = None
        self.stopped_reason: str | None = None  # set when the store says the hub is unlinked

    # Lifecycle -----------------------------------------------------------------
    @callback
    def async_start(self) -> None:
        if self._task is None:
            self._unlisten = self._hub.bus.async_listen(EVENT_STATE_CHANGED, self._on_state)
            self._task = asyncio.get_running_loop().create_task(
                self._async_run(), name=f"remote uplink {self.hub_id}"
            )

    async def async_stop(self, *, clear: bool = False) -> None:
        """Disconnect; ``clear`` first empties the retained snapshot (remote access off)."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        client = self._client
        if clear and client is not None:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
                    for part in range(max(self._retained_parts, 1)):
                        await client.publish(self._part_topic(part), b"", qos=1, retain=True)
        task, self._task = self._task, None
        await async_cancel_and_wait(*([task] if task else []), *self._commands)

    @property
    def snapshot_pending(self) -> bool:
        """A snapshot is due (something shared changed since the last one)."""
        return self._snapshot_due.is_set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _topic(self, template: str, browser: str = "") -> str:
        return template.format(root=self._root, browser=browser)

    def _part_topic(self, part: int) -> str:
        """Where a snapshot's part is retained: part 0 on ``state``, the others beneath it."""
        if part == 0:
            return self._topic(STATE_TOPIC)
        return STATE_PART_TOPIC.format(root=self._root, part=part)

    async def _async_run(self) -> None:
        attempt, fresh = 0, False
        while True:
            try:
                session = await self._async_session(fresh)
                fresh = False
                await self._async_connected(session)
            except TokenExpiring:
                attempt = 0
                continue  # the fresh token is at hand: reconnect now
            except MqttConnectError as err:
                fresh = True  # the broker refused the login: ask the store for a new token
                self._note_error(f"the broker refused the hub's login ({err})")
            except aiomqtt.MqttError as err:
                self._note_error(f"the remote broker is unreachable ({err})")
            except CloudAuthError as err:
                self.stopped_reason = str(err)
                _LOGGER.warning("Remote access stopped: %s", err)
                return  # unlinked at the store: nothing to connect to until linked again
            except CloudError as err:
                self._note_error(f"the store did not give a broker token ({err})")
            except Exception:  # a bug must not end remote access for good
                _LOGGER.exception("Remote uplink failed")
                self.last_error = "the uplink failed; see the hub's log"
            finally:
                self._client = None
                self.connected.clear()
            attempt += 1
            await asyncio.sleep(reconnect_delay(attempt))

    def _note_error(self, message: str) -> None:
        if message != self.last_error:
            _LOGGER.warning("Remote uplink: %s", message)
        self.last_error = message

    async def _async_connected(self, session: RemoteHubSession) -> None:
        address = BrokerAddress.from_url(session.broker_url)
        self._root = session.topic_root
        async with aiomqtt.Client(
            address.host,
            address.port,
            username=f"{HUB_USERNAME_PREFIX}{self.hub_id}",
            password=session.token,
            identifier=session.client_id,
            keepalive=KEEPALIVE_S,
            tls_context=ssl.create_default_context() if address.tls else None,
            max_queued_outgoing_messages=MAX_QUEUED_EVENTS * 2,
            # A reply and an event go out back to back: without this, Nagle holds the
            # second until the broker's delayed ACK (~40 ms on Linux; see the benchmark).
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        ) as client:
            self._client = client
            await client.subscribe(
                [(self._topic(CMD_TOPIC, "+"), 1), (self._topic(HELLO_TOPIC, "+"), 1)]
            )
            for message in self._keys.key_messages(self.hub_id):
                await client.publish(message.topic, message.payload, qos=1, retain=message.retain)
            self.connections += 1
            self.last_error = None
            self.connected.set()
            self._snapshot_due.set()
            _LOGGER.info("Remote uplink connected to %s", address)
            tasks = [
                asyncio.create_task(self._async_read(client), name="remote uplink read"),
                asyncio.create_task(self._async_publish_state(client), name="remote uplink state"),
                asyncio.create_task(self._async_publish_events(client), name="remote events"),
                asyncio.create_task(self._async_refresh(session), name="remote uplink token"),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                await async_cancel_and_wait(*tasks)
            for task in done:
                task.result()  # raises what ended the connection
            raise aiomqtt.MqttError("the connection ended")

    async def _async_refresh(self, session: RemoteHubSession) -> None:
        await asyncio.sleep(max(session.expires_in - TOKEN_REFRESH_MARGIN_S, 1.0))
        await self._async_session(True)
        raise TokenExpiring

    # Publishing ------------------------------------------------------------------
    def _seal(self, topic: str, body: dict[str, Any]) -> bytes:
        return envelope.seal(self._keys.household_key, topic, HUB_SENDER, self._clock.next(), body)

    @callback
    def _on_state(self, event: Event) -> None:
        entity_id = event.data["entity_id"]
        if not self._sharing.is_shared(entity_id) or not self.connected.is_set():
            return
        self._snapshot_due.set()
        new_state = event.data.get("new_state")
        if new_state is None:
            return  # gone: the next snapshot no longer lists it
        try:
            self._events.put_nowait(state_event(self._hub, new_state))
        except asyncio.QueueFull:
            self.dropped_events += 1  # the snapshot that follows carries the latest state

    @callback
    def async_share_changed(self) -> None:
        self._snapshot_due.set()

    async def _async_publish_state(self, client: aiomqtt.Client) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(HEARTBEAT_S):
                    await self._snapshot_due.wait()
            self._snapshot_due.clear()
            parts = snapshot_parts(
                self._hub, self._sharing.entity_ids if self._sharing.enabled else frozenset()
            )
            # In order, part 0 first: the counters rise with the parts, as a browser reads them.
            for part, body in enumerate(parts):
                topic = self._part_topic(part)
                await client.publish(topic, self._seal(topic, body), qos=1, retain=True)
            for stale in range(len(parts), self._retained_parts):
                await client.publish(self._part_topic(stale), b"", qos=1, retain=True)
            self._retained_parts = len(parts)
            await asyncio.sleep(SNAPSHOT_MIN_INTERVAL_S)

    async def _async_publish_events(self, client: aiomqtt.Client) -> None:
        while True:
            body = await self._events.get()
            topic = self._topic(EVENT_TOPIC)
            try:
                payload = self._seal(topic, body)
            except (
                ValueError
            ) as err:  # one entity larger than an envelope: the snapshot omits it too
                _LOGGER.warning("Remote event not sent: %s", err)
                continue
            await client.publish(topic, payload, qos=0)

    async def async_publish_all(self, messages: list[Outgoing]) -> None:
        """Key store messages (keys, welcome), when connected; on the next connection the
        retained keys go out anyway."""
        client = self._client
        if client is None:
            return
        with contextlib.suppress(aiomqtt.MqttError):
            for message in messages:
                await client.publish(message.topic, message.payload, qos=1, retain=message.retain)

    # Receiving -------------------------------------------------------------------
    async def _async_read(self, client: aiomqtt.Client) -> None:
        cmd_prefix = self._topic(CMD_TOPIC, "")
        pair_prefix = self._topic(HELLO_TOPIC, "\0").split("\0")[0]
        async for message in client.messages:
            topic = message.topic.value
            payload = message.payload
            if not isinstance(payload, bytes | bytearray) or len(payload) > MAX_PAYLOAD_BYTES:
                continue
            if topic.startswith(cmd_prefix):
                browser = topic.removeprefix(cmd_prefix)
                if BROWSER_ID.match(browser):
                    self._handle_command(client, browser, topic, bytes(payload))
            elif topic.startswith(pair_prefix) and topic.endswith("/hello"):
                browser = topic.removeprefix(pair_prefix).removesuffix("/hello")
                if BROWSER_ID.match(browser):
                    await self._async_hello(client, browser, bytes(payload))

    def _handle_command(
        self, client: aiomqtt.Client, browser: str, topic: str, payload: bytes
    ) -> None:
        opened = self.gate.open(browser, topic, payload)
        if opened is None:
            return
        if isinstance(opened, dict):
            answer: Awaitable[dict[str, Any]] | dict[str, Any] = opened
        elif len(self._commands) >= MAX_RUNNING_COMMANDS:
            answer = reply(opened.request_id, "the hub is busy; try again in a moment")
        else:
            answer = self.gate.async_run(opened)
        task = asyncio.create_task(self._async_reply(client, browser, answer))
        self._commands.add(task)
        task.add_done_callback(self._commands.discard)

    async def _async_reply(
        self,
        client: aiomqtt.Client,
        browser: str,
        answer: Awaitable[dict[str, Any]] | dict[str, Any],
    ) -> None:
        body = answer if isinstance(answer, dict) else await answer
        topic = self._topic(REPLY_TOPIC, browser)
        with contextlib.suppress(aiomqtt.MqttError):
            await client.publish(topic, self._seal(topic, body), qos=1)

    async def _async_hello(self, client: aiomqtt.Client, browser: str, payload: bytes) -> None:
        try:
            messages = await self._keys.async_handle_hello(self.hub_id, browser, payload)
        except PairingError as err:
            _LOGGER.info("Pairing hello from %s refused: %s", browser, err)
            return
        for message in messages:
            await client.publish(message.topic, message.payload, qos=1, retain=message.retain)
        # The retained snapshot came to the new browser before its key: send a fresh one
        # now rather than let it wait for the next change or heartbeat.
        self._snapshot_due.set()
