"""One MQTT request and its live replies: subscribe, send, wait under a deadline, unsubscribe.

MQTT has no request/response of its own: a requester listens on the reply topic *before*
it sends, and takes only live messages as replies. A retained message (or the client's
replay of the topic's last message to a new subscriber, flagged retained as a broker's
would be) is a recording of an earlier answer, never the answer to this request. Replies
wait in a small bounded queue, cut to ``max_bytes``; more than it holds are dropped.

    async with MqttRequest(client, reply_topic, max_bytes=64) as request:
        await send()  # publish, or call the service that publishes
        async for reply in request.replies(timeout):
            ...  # stop at the first good one; the loop ends at the deadline
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from hub.integrations.mqtt.const import REQUEST_QUEUE_SIZE
from hub.integrations.mqtt.subscriptions import MessageCallback, ReceivedMessage


class Subscriber(Protocol):
    """What a request needs of the client (``MqttClient``, or its ``Subscriptions``)."""

    async def async_subscribe(
        self, topic_filter: str, callback: MessageCallback
    ) -> Callable[[], None]: ...


class MqttRequest:
    """Listens on ``reply_topic`` while open; hands out its live replies until a deadline."""

    def __init__(
        self,
        client: Subscriber,
        reply_topic: str,
        *,
        max_bytes: int,
        queue_size: int = REQUEST_QUEUE_SIZE,
    ) -> None:
        self._client = client
        self.reply_topic = reply_topic
        self._max_bytes = max_bytes
        self._replies: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_size)
        self._unsubscribe: Callable[[], None] | None = None

    async def __aenter__(self) -> MqttRequest:
        self._unsubscribe = await self._client.async_subscribe(self.reply_topic, self._on_reply)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()

    def _on_reply(self, message: ReceivedMessage) -> None:
        if message.retain:
            return  # a recording of an earlier answer, never the live one
        with contextlib.suppress(asyncio.QueueFull):
            self._replies.put_nowait(bytes(message.payload[: self._max_bytes]))

    def replies(self, timeout: float) -> LiveReplies:
        """Live replies in arrival order, until ``timeout`` seconds from now have passed."""
        return LiveReplies(self._replies, asyncio.get_running_loop().time() + timeout)


class LiveReplies:
    """An async iterator over a request's replies that ends at its deadline.

    A plain class rather than an async generator: a caller that stops at the first good
    reply leaves nothing suspended behind it.
    """

    def __init__(self, replies: asyncio.Queue[bytes], deadline: float) -> None:
        self._replies = replies
        self._deadline = deadline

    def __aiter__(self) -> LiveReplies:
        return self

    async def __anext__(self) -> bytes:
        remaining = self._deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise StopAsyncIteration
        try:  # asyncio.timeout: wait_for may drop a reply that lands on time-out
            async with asyncio.timeout(remaining):
                return await self._replies.get()
        except TimeoutError:
            raise StopAsyncIteration from None
