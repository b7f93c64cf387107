"""A device on the test broker that announces an Ethos serial and answers claim challenges
however the test wants: with the right key, a wrong one, a recorded answer, or not at all."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import ha_discovery

from ethos.tasks import async_cancel_and_wait
from tests.hub.mqtt.device import FakeDevice

Answer = Callable[[bytes], str | None]


@contextlib.asynccontextmanager
async def claiming_device(
    url: str, serial: str, prefix: str, answer: Answer
) -> AsyncIterator[FakeDevice]:
    """Announce ``serial`` (the firmware's own discovery payloads) and answer challenges."""
    async with FakeDevice.connect(url) as device:
        challenge = f"ethos/{serial}/claim/challenge"
        await device.watch(challenge)
        seen = 0

        async def respond() -> None:
            nonlocal seen
            while True:
                nonces = device.messages_on(challenge)
                for nonce in nonces[seen:]:
                    reply = answer(nonce.encode())
                    if reply is not None:
                        await device.publish(f"ethos/{serial}/claim/response", reply)
                seen = len(nonces)
                await asyncio.sleep(0.01)

        task = asyncio.get_running_loop().create_task(respond())
        for topic, payload in ha_discovery.discovery_messages(serial, prefix):
            await device.publish(topic, payload, retain=True)
        try:
            yield device
        finally:
            # Not a bare cancel: on Python 3.11 one that lands as a publish is acknowledged
            # is swallowed inside aiomqtt, and this loop would answer forever.
            await async_cancel_and_wait(task)
