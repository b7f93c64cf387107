"""MQTT connection: reconnects with backoff, resubscribes, bounded queues, counted drops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiomqtt

from ethos.tasks import async_cancel_and_wait, async_wait_event
from hub.core.callback import callback
from hub.integrations.mqtt.const import (
    CONTROL_TOPIC_PREFIX,
    DEFAULT_PORT,
    DEFAULT_TLS_PORT,
    KEEPALIVE_S,
    MAX_PAYLOAD_BYTES,
    MAX_QUEUED_OUTGOING,
    RECONNECT_FIRST_DELAY_S,
    RECONNECT_MAX_DELAY_S,
)
from hub.integrations.mqtt.subscriptions import MessageCallback, ReceivedMessage, Subscriptions
from hub.integrations.mqtt.topics import valid_publish_topic

__all__ = ["BrokerAddress", "MessageCallback", "MqttClient", "MqttNotConnected", "ReceivedMessage"]

_LOGGER = logging.getLogger(__name__)


class MqttNotConnected(ConnectionError):
    """Publishing while the broker is unreachable."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def from_url(cls, url: str) -> BrokerAddress:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"unsupported MQTT URL scheme {parts.scheme!r}")
        tls = parts.scheme in ("mqtts", "ssl")
        if not parts.hostname:
            raise ValueError("MQTT URL needs a host")
        return cls(
            host=parts.hostname,
            port=parts.port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )

    def __str__(self) -> str:  # never shows the password
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def reconnect_delay(attempt: int) -> float:
    """Exponential backoff with jitter so many hubs do not reconnect in step."""
    base = min(RECONNECT_FIRST_DELAY_S * 2.0 ** max(attempt - 1, 0), RECONNECT_MAX_DELAY_S)
    return base * random.uniform(0.8, 1.2)


class MqttClient:
    """One broker connection shared by the whole hub."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str | None = None,
        birth: tuple[str, str] | None = None,
        will: tuple[str, str] | None = None,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    ) -> None:
        self.address = BrokerAddress.from_url(url)
        self.client_id = client_id or f"ethos-hub-{uuid.uuid4().hex[:8]}"
        self._birth = birth
        self._will = will
        self._max_payload = max_payload_bytes
        self._subscriptions = Subscriptions(
            lambda: self._client is not None,
            self._async_send_subscribe,
            self._async_send_unsubscribe,
        )
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self.received = 0
        self.oversized = 0
        self.connections = 0
        self.last_error: str | None = None
        self._oversized_topics: set[str] = set()
        self._connect_listeners: list[Callable[[], None]] = []

    # Lifecycle ---------------------------------------------------------------
    async def async_start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._async_run(), name=f"mqtt {self.address}"
            )

    async def async_wait_first_attempt(self, seconds: float) -> bool:
        """Wait for the first connection attempt to end; return whether it connected."""
        await async_wait_event(self._first_attempt, seconds)
        return self.connected.is_set()

    async def async_stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        client = self._client
        if client is not None and self._will is not None:
            # A clean disconnect suppresses the will, so say "offline" ourselves.
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(1):  # a dead link must not hold up shutdown
                    await client.publish(self._will[0], self._will[1], retain=True)
        await async_cancel_and_wait(task, *self._subscriptions.tasks())
        self._subscriptions.release_waiters()

    def _queue_type(self) -> type[asyncio.Queue[aiomqtt.Message]]:
        owner = self

        class DirectDispatch(asyncio.Queue[aiomqtt.Message]):
            """Hands each message straight to the subscribers instead of queueing it.

            aiomqtt would queue every message and wake a task per message to read it back;
            dispatching in place removes that layer (several times faster), and with no
            queue in the hub a burst cannot grow memory here: TCP pushes back to the
            broker, whose own limits apply.
            """

            def put_nowait(self, item: aiomqtt.Message) -> None:
                owner._dispatch(item)

        return DirectDispatch

    def _new_client(self) -> aiomqtt.Client:
        will = None
        if self._will is not None:
            will = aiomqtt.Will(self._will[0], self._will[1], qos=0, retain=True)
        return aiomqtt.Client(
            self.address.host,
            self.address.port,
            username=self.address.username,
            password=self.address.password,
            identifier=self.client_id,
            will=will,
            keepalive=KEEPALIVE_S,
            tls_context=ssl.create_default_context() if self.address.tls else None,
            queue_type=self._queue_type(),
            max_queued_outgoing_messages=MAX_QUEUED_OUTGOING,
        )

    async def _async_run(self) -> None:
        attempt = 0
        while True:
            try:
                async with self._new_client() as client:
                    self._client = client
                    attempt = 0
                    self.connections += 1
                    filters = self._subscriptions.filters()
                    if filters:
                        await client.subscribe([(f, 0) for f in filters])
                    if self._birth is not None:
                        await client.publish(self._birth[0], self._birth[1])
                    self.last_error = None
                    self.connected.set()
                    self._first_attempt.set()
                    _LOGGER.info("Connected to MQTT broker %s", self.address)
                    for listener in list(self._connect_listeners):
                        listener()
                    # Messages are dispatched as they arrive (see DirectDispatch); this
                    # only waits for the connection to end.
                    async for _message in client.messages:
                        pass
                    raise aiomqtt.MqttError("message stream ended")
            except aiomqtt.MqttError as err:
                if self.connected.is_set() or self.last_error is None:
                    _LOGGER.warning("MQTT broker %s unreachable: %s", self.address, err)
                self.last_error = str(err)
                self._first_attempt.set()
            finally:
                self._client = None
                self.connected.clear()
            attempt += 1
            await asyncio.sleep(reconnect_delay(attempt))

    @callback
    def async_on_connect(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after every (re)connection, once subscriptions and birth are out."""
        self._connect_listeners.append(listener)
        return lambda: self._connect_listeners.remove(listener)

    # Messages ----------------------------------------------------------------
    def _dispatch(self, message: aiomqtt.Message) -> None:
        self.received += 1
        topic = message.topic.value
        payload = message.payload
        if not isinstance(payload, bytes | bytearray):
            payload = b"" if payload is None else str(payload).encode()
        if len(payload) > self._max_payload:
            self.oversized += 1
            if topic not in self._oversized_topics and len(self._oversized_topics) < 1000:
                self._oversized_topics.add(topic)
                _LOGGER.warning("Ignoring %s byte payload on %s", len(payload), topic)
            return
        self._subscriptions.dispatch(
            ReceivedMessage(topic, bytes(payload), int(message.qos), bool(message.retain))
        )

    async def async_subscribe(
        self, topic_filter: str, callback: MessageCallback
    ) -> Callable[[], None]:
        """Call ``callback`` for messages matching the filter; returns an unsubscribe."""
        return await self._subscriptions.async_subscribe(topic_filter, callback)

    async def _async_send_subscribe(self, filters: list[str]) -> None:
        client = self._client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.subscribe([(f, 0) for f in filters])

    async def _async_send_unsubscribe(self, topic_filter: str) -> None:
        client = self._client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.unsubscribe(topic_filter)

    async def async_publish(
        self, topic: str, payload: str | bytes, qos: int = 0, retain: bool = False
    ) -> None:
        if not valid_publish_topic(topic):
            raise ValueError(f"invalid MQTT topic {topic!r}")
        client = self._client
        if client is None:
            raise MqttNotConnected(f"not connected to {self.address}")
        try:
            await client.publish(topic, payload, qos=qos, retain=retain)
        except aiomqtt.MqttError as err:
            raise MqttNotConnected(str(err)) from err

    async def async_publish_control(self, topic: str, payload: str | bytes) -> None:
        """Publish a broker command (``$CONTROL/...``), which ``async_publish`` refuses so that
        no service or entity can reach the broker's administration."""
        if not topic.startswith(CONTROL_TOPIC_PREFIX) or "+" in topic or "#" in topic:
            raise ValueError(f"not a broker control topic: {topic!r}")
        client = self._client
        if client is None:
            raise MqttNotConnected(f"not connected to {self.address}")
        try:
            await client.publish(topic, payload, qos=1)
        except aiomqtt.MqttError as err:
            raise MqttNotConnected(str(err)) from err
