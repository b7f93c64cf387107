"""Event bus, state machine and service registry through their public methods."""

from __future__ import annotations

import pytest

from hub.const import EVENT_STATE_CHANGED, MATCH_ALL
from hub.core.errors import ServiceNotFound
from hub.core.events import Event, EventBus
from hub.core.services import ServiceCall, ServiceRegistry
from hub.core.states import StateMachine


def test_listeners_get_events_until_unsubscribed() -> None:
    bus = EventBus()
    seen: list[tuple[str, str]] = []
    unsub = bus.async_listen("ping", lambda e: seen.append(("ping", e.data["n"])))
    bus.async_listen(MATCH_ALL, lambda e: seen.append(("all", e.event_type)))
    bus.async_fire("ping", {"n": "1"})
    unsub()
    bus.async_fire("ping", {"n": "2"})
    assert seen == [("ping", "1"), ("all", "ping"), ("all", "ping")]


def test_failing_listener_does_not_stop_the_others() -> None:
    bus = EventBus()
    seen: list[Event] = []

    def broken(_event: Event) -> None:
        raise RuntimeError("boom")

    bus.async_listen("x", broken)
    bus.async_listen("x", seen.append)
    bus.async_fire("x")
    assert len(seen) == 1


def test_state_changes_fire_events_and_keep_last_changed() -> None:
    bus = EventBus()
    states = StateMachine(bus)
    events: list[Event] = []
    bus.async_listen(EVENT_STATE_CHANGED, events.append)

    first = states.async_set("sensor.t", "20", {"unit": "°C"})
    again = states.async_set("sensor.t", "20", {"unit": "°C"})
    attr_only = states.async_set("sensor.t", "20", {"unit": "K"})
    changed = states.async_set("sensor.t", "21", {"unit": "K"})

    assert again is first
    assert [e.data["new_state"].state for e in events] == ["20", "20", "21"]
    assert events[0].data["old_state"] is None
    assert attr_only.last_changed == first.last_changed
    assert attr_only.last_updated >= first.last_updated
    assert changed.last_changed > first.last_changed
    assert states.get("sensor.t").attributes["unit"] == "K"


def test_invalid_entity_id_is_refused_and_remove_fires_event() -> None:
    bus = EventBus()
    states = StateMachine(bus)
    with pytest.raises(ValueError, match="invalid entity id"):
        states.async_set("Not An Id", "on")
    states.async_set("switch.a", "on")
    events: list[Event] = []
    bus.async_listen(EVENT_STATE_CHANGED, events.append)
    assert states.async_remove("switch.a") is True
    assert states.get("switch.a") is None
    assert events[0].data["new_state"] is None
    assert states.async_remove("switch.a") is False


async def test_services_are_called_and_unknown_ones_refused() -> None:
    services = ServiceRegistry(EventBus())
    calls: list[ServiceCall] = []

    async def handler(call: ServiceCall) -> None:
        calls.append(call)

    unregister = services.async_register("light", "turn_on", handler)
    await services.async_call("light", "turn_on", {"brightness": 3})
    assert calls[0].data == {"brightness": 3}
    assert services.async_services() == {"light": ["turn_on"]}
    unregister()
    with pytest.raises(ServiceNotFound, match=r"light\.turn_on"):
        await services.async_call("light", "turn_on")
