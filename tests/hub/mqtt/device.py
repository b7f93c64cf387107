"""A device on the broker as the tests see it: publishes configs and states, records commands."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import aiomqtt

from ethos.tasks import async_cancel_and_wait


class FakeDevice:
    """A real MQTT client (aiomqtt) standing in for Tasmota / ESPHome / Zigbee2MQTT."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.received: list[tuple[str, str, bool]] = []
        self.retained_topics: set[str] = set()
        self._task: asyncio.Task | None = None

    @classmethod
    @asynccontextmanager
    async def connect(cls, url: str) -> AsyncIterator[FakeDevice]:
        parts = urlsplit(url)
        async with aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or 1883) as client:
            device = cls(client)
            device._task = asyncio.get_running_loop().create_task(device._listen())
            try:
                yield device
            finally:
                for topic in device.retained_topics:  # leave a shared broker clean
                    await client.publish(topic, b"", qos=1, retain=True)
                await async_cancel_and_wait(device._task)

    async def _listen(self) -> None:
        async for message in self.client.messages:
            payload = message.payload
            text = payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)
            self.received.append((message.topic.value, text, bool(message.retain)))

    async def watch(self, topic_filter: str) -> None:
        await self.client.subscribe(topic_filter)
        await asyncio.sleep(0.05)  # let the broker register it before anything is sent

    async def publish(self, topic: str, payload: Any = "", retain: bool = False) -> None:
        if retain:
            self.retained_topics.add(topic)
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        await self.client.publish(topic, payload, qos=1, retain=retain)

    def messages_on(self, topic: str) -> list[str]:
        return [payload for t, payload, _ in self.received if t == topic]
