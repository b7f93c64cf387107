"""One MQTT request: only live replies count, a deadline ends the wait, the topic is freed."""

from __future__ import annotations

import asyncio

from hub.integrations.mqtt.request import MqttRequest
from hub.integrations.mqtt.subscriptions import ReceivedMessage, Subscriptions
from tests.hub.mqtt.test_subscriptions import FakeLink


def reply(payload: bytes, retain: bool = False) -> ReceivedMessage:
    return ReceivedMessage("dev/1/answer", payload, 0, retain)


async def collect(request: MqttRequest, timeout: float) -> list[bytes]:
    return [answer async for answer in request.replies(timeout)]


async def test_live_replies_come_in_order_until_the_deadline() -> None:
    subscriptions = FakeLink().subscriptions()
    async with MqttRequest(subscriptions, "dev/1/answer", max_bytes=64) as request:
        subscriptions.dispatch(reply(b"first"))
        subscriptions.dispatch(reply(b"second"))
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await collect(request, 0.05) == [b"first", b"second"]
        assert loop.time() - started >= 0.05


async def test_retained_replies_and_replays_of_an_earlier_answer_are_not_answers() -> None:
    subscriptions = FakeLink().subscriptions()
    await subscriptions.async_subscribe("dev/1/answer", lambda _m: None)
    subscriptions.dispatch(reply(b"earlier answer"))  # kept as the topic's last message
    async with MqttRequest(subscriptions, "dev/1/answer", max_bytes=64) as request:
        await asyncio.sleep(0)  # the replay to the new subscriber
        subscriptions.dispatch(reply(b"a recording", retain=True))
        subscriptions.dispatch(reply(b"live"))
        assert await collect(request, 0.01) == [b"live"]


async def test_replies_are_cut_and_bounded() -> None:
    subscriptions = FakeLink().subscriptions()
    async with MqttRequest(subscriptions, "dev/1/answer", max_bytes=4, queue_size=2) as request:
        for n in range(5):
            subscriptions.dispatch(reply(b"reply %d" % n))
        assert await collect(request, 0.01) == [b"repl", b"repl"]


async def test_the_first_good_reply_ends_the_wait_and_closing_unsubscribes() -> None:
    link = FakeLink()
    subscriptions: Subscriptions = link.subscriptions()
    async with MqttRequest(subscriptions, "dev/1/answer", max_bytes=64) as request:
        asyncio.get_running_loop().call_soon(subscriptions.dispatch, reply(b"yes"))
        async for answer in request.replies(5):
            assert answer == b"yes"
            break
    await asyncio.gather(*subscriptions.tasks())
    assert subscriptions.filters() == []
    assert link.unsubscribes == ["dev/1/answer"]


async def test_no_reply_within_the_deadline_ends_empty() -> None:
    subscriptions = FakeLink().subscriptions()
    async with MqttRequest(subscriptions, "dev/1/answer", max_bytes=64) as request:
        assert await collect(request, 0.01) == []
