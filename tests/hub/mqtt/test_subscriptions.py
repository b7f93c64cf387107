"""Subscription bookkeeping without a broker: tables, last message and its replay, batching."""

from __future__ import annotations

import asyncio

import pytest

from hub.integrations.mqtt.subscriptions import ReceivedMessage, Subscriptions


class FakeLink:
    """The network side of ``Subscriptions``: records what would be sent to the broker."""

    def __init__(self, online: bool = True) -> None:
        self.online = online
        self.subscribes: list[list[str]] = []
        self.unsubscribes: list[str] = []

    async def async_send_subscribe(self, filters: list[str]) -> None:
        self.subscribes.append(filters)

    async def async_send_unsubscribe(self, topic_filter: str) -> None:
        self.unsubscribes.append(topic_filter)

    def subscriptions(self) -> Subscriptions:
        return Subscriptions(
            lambda: self.online, self.async_send_subscribe, self.async_send_unsubscribe
        )


def message(topic: str, payload: bytes = b"x", retain: bool = False) -> ReceivedMessage:
    return ReceivedMessage(topic, payload, 0, retain)


async def test_exact_and_wildcard_subscribers_each_get_matching_messages() -> None:
    subscriptions = FakeLink().subscriptions()
    exact: list[ReceivedMessage] = []
    wild: list[ReceivedMessage] = []
    await subscriptions.async_subscribe("home/a/state", exact.append)
    await subscriptions.async_subscribe("home/+/state", wild.append)
    subscriptions.dispatch(message("home/a/state", b"1"))
    subscriptions.dispatch(message("home/b/state", b"2"))
    subscriptions.dispatch(message("home/a/other", b"3"))
    assert [m.payload for m in exact] == [b"1"]
    assert [m.payload for m in wild] == [b"1", b"2"]
    assert sorted(subscriptions.filters()) == ["home/+/state", "home/a/state"]


async def test_new_filters_of_one_turn_go_out_as_one_subscribe() -> None:
    link = FakeLink()
    subscriptions = link.subscriptions()
    await asyncio.gather(
        *(subscriptions.async_subscribe(f"t/{n}", lambda _m: None) for n in range(5))
    )
    assert link.subscribes == [[f"t/{n}" for n in range(5)]]
    await subscriptions.async_subscribe("t/0", lambda _m: None)  # known exact topic
    assert len(link.subscribes) == 1


async def test_offline_subscriptions_wait_for_the_next_connection() -> None:
    link = FakeLink(online=False)
    subscriptions = link.subscriptions()
    await subscriptions.async_subscribe("t/1", lambda _m: None)
    assert link.subscribes == []
    assert subscriptions.filters() == ["t/1"]


async def test_a_late_subscriber_gets_the_last_message_flagged_retained() -> None:
    subscriptions = FakeLink().subscriptions()
    first: list[ReceivedMessage] = []
    late: list[ReceivedMessage] = []
    await subscriptions.async_subscribe("dev/1/hold", first.append)
    subscriptions.dispatch(message("dev/1/hold", b"45", retain=False))
    await subscriptions.async_subscribe("dev/1/hold", late.append)
    await asyncio.sleep(0)  # the replay comes on the next turn, as a broker's would
    assert [(m.payload, m.retain) for m in first] == [(b"45", False)]
    assert [(m.payload, m.retain) for m in late] == [(b"45", True)]


async def test_last_subscriber_leaving_unsubscribes_and_forgets_the_last_message() -> None:
    link = FakeLink()
    subscriptions = link.subscriptions()
    one = await subscriptions.async_subscribe("dev/1/hold", lambda _m: None)
    two = await subscriptions.async_subscribe("dev/1/hold", lambda _m: None)
    subscriptions.dispatch(message("dev/1/hold"))
    one()
    await asyncio.sleep(0)
    assert link.unsubscribes == []
    assert subscriptions.last_message("dev/1/hold") is not None
    two()
    await asyncio.gather(*subscriptions.tasks())
    assert link.unsubscribes == ["dev/1/hold"]
    assert subscriptions.last_message("dev/1/hold") is None
    assert subscriptions.filters() == []


async def test_an_unsubscribed_callback_gets_no_pending_replay() -> None:
    subscriptions = FakeLink().subscriptions()
    await subscriptions.async_subscribe("a", lambda _m: None)
    subscriptions.dispatch(message("a"))
    got: list[ReceivedMessage] = []
    unsubscribe = await subscriptions.async_subscribe("a", got.append)
    unsubscribe()
    await asyncio.sleep(0)
    assert got == []


async def test_a_failing_callback_does_not_stop_the_others() -> None:
    subscriptions = FakeLink().subscriptions()
    got: list[ReceivedMessage] = []

    def broken(_message: ReceivedMessage) -> None:
        raise RuntimeError("boom")

    await subscriptions.async_subscribe("a/#", broken)
    await subscriptions.async_subscribe("a/b", got.append)
    subscriptions.dispatch(message("a/b"))
    assert len(got) == 1


async def test_invalid_filters_are_refused() -> None:
    subscriptions = FakeLink().subscriptions()
    with pytest.raises(ValueError, match="invalid MQTT topic filter"):
        await subscriptions.async_subscribe("a/#/b", lambda _m: None)
    assert subscriptions.filters() == []
