"""Who listens to which topic: the client's subscription bookkeeping, without the network.

Exact filters and wildcard filters are kept apart (an exact topic is one dictionary look-up
per message); the last message of each exact topic is kept so that a second subscriber to a
topic the broker already sends us sees its retained value, replayed as the broker would
(flagged retained). New filters are gathered into one SUBSCRIBE per turn of the event loop;
a filter nobody listens to any more is unsubscribed. The network side is three callables
given by the client, so this class is tested without a broker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hub.integrations.mqtt.topics import topic_matches, valid_subscribe_filter

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    topic: str
    payload: bytes
    qos: int
    retain: bool


MessageCallback = Callable[[ReceivedMessage], None]
SendSubscribe = Callable[[list[str]], Awaitable[None]]
SendUnsubscribe = Callable[[str], Awaitable[None]]


def is_wildcard(topic_filter: str) -> bool:
    return "+" in topic_filter or "#" in topic_filter


class Subscriptions:
    """Callbacks per filter, the last message per exact topic, and batched (un)subscribes.

    ``online()`` says whether a connection is up (otherwise the next connection subscribes
    every filter, see ``filters``); ``send_subscribe`` and ``send_unsubscribe`` reach the
    broker and swallow its errors.
    """

    def __init__(
        self,
        online: Callable[[], bool],
        send_subscribe: SendSubscribe,
        send_unsubscribe: SendUnsubscribe,
    ) -> None:
        self._online = online
        self._send_subscribe = send_subscribe
        self._send_unsubscribe = send_unsubscribe
        self._exact: dict[str, list[MessageCallback]] = {}
        self._wildcard: dict[str, list[MessageCallback]] = {}
        self._last_message: dict[str, ReceivedMessage] = {}
        self._pending: set[str] = set()
        self._pending_future: asyncio.Future[None] | None = None
        self._flush_task: asyncio.Task[None] | None = None
        # Unsubscribes in flight: referenced so they are not collected, awaited on stop.
        self._unsubscribe_tasks: set[asyncio.Task[None]] = set()

    def filters(self) -> list[str]:
        """Every filter someone listens to (what a new connection subscribes)."""
        return [*self._exact, *self._wildcard]

    def last_message(self, topic: str) -> ReceivedMessage | None:
        return self._last_message.get(topic)

    def tasks(self) -> list[asyncio.Task[None]]:
        """Network work in flight, for the client to cancel when it stops."""
        flush = [self._flush_task] if self._flush_task is not None else []
        return [*flush, *self._unsubscribe_tasks]

    def release_waiters(self) -> None:
        """Subscribers waiting for a SUBACK that will not come (the client stopped)."""
        if self._pending_future is not None and not self._pending_future.done():
            self._pending_future.set_result(None)

    # Messages ---------------------------------------------------------------------
    def dispatch(self, message: ReceivedMessage) -> None:
        """Hand the message to every matching callback; a failing callback is logged."""
        callbacks = self._exact.get(message.topic)
        if callbacks:
            self._last_message[message.topic] = message
            for callback in callbacks:
                _call(callback, message)
        for topic_filter, callbacks in list(self._wildcard.items()):
            if topic_matches(topic_filter, message.topic):
                for callback in callbacks:
                    _call(callback, message)

    # Subscribing --------------------------------------------------------------------
    async def async_subscribe(
        self, topic_filter: str, callback: MessageCallback
    ) -> Callable[[], None]:
        """Call ``callback`` for messages matching the filter; returns an unsubscribe."""
        if not valid_subscribe_filter(topic_filter):
            raise ValueError(f"invalid MQTT topic filter {topic_filter!r}")
        table = self._wildcard if is_wildcard(topic_filter) else self._exact
        callbacks = table.setdefault(topic_filter, [])
        callbacks.append(callback)
        last = self._last_message.get(topic_filter)
        if last is not None:
            asyncio.get_running_loop().call_soon(self._replay, callback, callbacks, last)
        elif self._online() and (len(callbacks) == 1 or table is self._wildcard):
            # Wait for the broker's SUBACK so a message sent right after is not missed.
            await asyncio.shield(self._queue_subscribe(topic_filter))

        def unsubscribe() -> None:
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks and table.get(topic_filter) is callbacks:
                del table[topic_filter]
                self._last_message.pop(topic_filter, None)
                if self._online():
                    task = asyncio.get_running_loop().create_task(
                        self._async_unsubscribe(topic_filter), name="mqtt unsubscribe"
                    )
                    self._unsubscribe_tasks.add(task)
                    task.add_done_callback(self._unsubscribe_tasks.discard)

        return unsubscribe

    def _replay(
        self, callback: MessageCallback, callbacks: list[MessageCallback], message: ReceivedMessage
    ) -> None:
        # What a broker does for a new subscription: the stored message comes flagged as
        # retained, so nobody takes an earlier message for a live answer.
        if callback in callbacks:
            _call(callback, dataclasses.replace(message, retain=True))

    def _queue_subscribe(self, topic_filter: str) -> asyncio.Future[None]:
        """Batch new filters into one SUBSCRIBE instead of a round trip per entity."""
        loop = asyncio.get_running_loop()
        self._pending.add(topic_filter)
        if self._pending_future is None:
            self._pending_future = loop.create_future()
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = loop.create_task(self._async_flush(), name="mqtt subscribe")
        return self._pending_future

    async def _async_flush(self) -> None:
        await asyncio.sleep(0)  # let the current burst of subscriptions gather
        while self._pending:
            batch, waiters = self._pending, self._pending_future
            self._pending, self._pending_future = set(), None
            try:
                if self._online():  # otherwise the next connection subscribes all
                    await self._send_subscribe(sorted(batch))
            finally:
                if waiters is not None and not waiters.done():
                    waiters.set_result(None)

    async def _async_unsubscribe(self, topic_filter: str) -> None:
        if topic_filter not in self._exact and topic_filter not in self._wildcard:
            await self._send_unsubscribe(topic_filter)


def _call(callback: MessageCallback, message: ReceivedMessage) -> None:
    try:
        callback(message)
    except Exception:
        _LOGGER.exception("MQTT callback failed for %s", message.topic)
