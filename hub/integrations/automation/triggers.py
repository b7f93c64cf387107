"""Triggers: attach one normalised trigger to the hub; it calls ``fire`` when it fires.

State-based triggers listen through the entity index (``Env.states``), so a change of an
entity nobody watches costs nothing here. ``for:`` timers run on the engine's clock and
are listed in ``pending`` (what is waiting, in words) so a restart can say what it cancelled.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime, time, timedelta
from typing import Any

from hub.core.events import Context, Event
from hub.core.states import State
from hub.integrations.automation.conditions import (
    ConditionError,
    duration_of,
    human,
    in_range,
    numeric_value,
)
from hub.integrations.automation.env import Env, run_all
from hub.integrations.automation.schema import PRESENCE_STATES, WEEKDAYS
from hub.integrations.automation.templating import TemplateRenderError
from hub.integrations.mqtt.runtime import mqtt_runtime

_LOGGER = logging.getLogger(__name__)
Fire = Callable[[dict[str, Any], str, Context | None], object]  # what it returns is unused
Detach = Callable[[], None]
Pending = dict[str, str]  # key → what a `for:` timer waits for
MQTT_RETRY_S = 5.0


def attach_trigger(
    config: Mapping[str, Any], env: Env, fire: Fire, pending: Pending, key: str
) -> Detach:
    """Start listening; returns the function that stops it."""
    if not config.get("enabled", True):
        return lambda: None
    base = {"platform": config["type"], "id": config["id"], "idx": key}
    if "alias" in config:
        base["alias"] = config["alias"]

    def fire_with(extra: dict[str, Any], description: str, context: Context | None) -> None:
        fire({**base, **extra, "description": description}, description, context)

    return _ATTACHERS[config["type"]](config, env, fire_with, pending, key)


class _ForTimers:
    """`for:` timers of one trigger, per entity; each is listed in ``pending``."""

    def __init__(self, env: Env, pending: Pending, key: str) -> None:
        self._env = env
        self._pending = pending
        self._key = key
        self._cancels: dict[str, Callable[[], None]] = {}

    def start(
        self, entity_id: str, delay: timedelta, what: str, done: Callable[[], object]
    ) -> None:
        self.cancel(entity_id)
        pending_key = f"{self._key}:{entity_id}"
        until = (self._env.clock.now() + delay).astimezone(self._env.time_zone)

        def elapsed() -> None:
            self._cancels.pop(entity_id, None)
            self._pending.pop(pending_key, None)
            done()

        self._cancels[entity_id] = self._env.clock.call_later(delay.total_seconds(), elapsed)
        self._pending[pending_key] = f"{what} (due {until:%H:%M:%S})"

    def running(self, entity_id: str) -> bool:
        return entity_id in self._cancels

    def cancel(self, entity_id: str) -> None:
        cancel = self._cancels.pop(entity_id, None)
        self._pending.pop(f"{self._key}:{entity_id}", None)
        if cancel is not None:
            cancel()

    def cancel_all(self) -> None:
        for entity_id in list(self._cancels):
            self.cancel(entity_id)


def _watch(env: Env, entity_ids: list[str], listener: Callable[[Event], None]) -> Detach:
    removers = [env.states.listen(entity_id, listener) for entity_id in entity_ids]
    return run_all(removers)


def _value(state: State | None, attribute: str | None) -> Any:
    if state is None:
        return None
    return state.attributes.get(attribute) if attribute else state.state


_CONSTRAINTS = ("from", "to", "not_from", "not_to")


def _state_matches(config: Mapping[str, Any], old: State | None, new: State | None) -> bool:
    if new is None:
        return False
    attribute = config.get("attribute")
    old_value, new_value = _value(old, attribute), _value(new, attribute)
    if config["_strict"]:  # an attribute, from/to given, or `to: null`
        if old_value == new_value:
            return False  # only attributes (or another attribute) changed
    elif old is not None and old.state == new.state and old.attributes == new.attributes:
        return False
    checks = (
        ("from", old_value, True),
        ("to", new_value, True),
        ("not_from", old_value, False),
        ("not_to", new_value, False),
    )
    for key, value, inside in checks:
        allowed = config.get(key)
        if allowed is not None and (str(value) in allowed) is not inside:
            return False
    return True


def _describe_change(entity_id: str, old: State | None, new: State, attribute: str | None) -> str:
    name = f"{entity_id}.{attribute}" if attribute else entity_id
    return f"{name} changed from {_value(old, attribute)!r} to {_value(new, attribute)!r}"


def _fire_now_or_after(
    config: Mapping[str, Any],
    env: Env,
    timers: _ForTimers,
    fire: Fire,
    key: str,
    event: Event,
    description: str,
) -> None:
    """Fire at once, or (``for:``) once the entity has held for the duration."""
    entity_id = event.data["entity_id"]
    variables = {
        "entity_id": entity_id,
        "from_state": event.data["old_state"],
        "to_state": event.data["new_state"],
    }
    duration = config.get("for")
    if duration is None:
        fire({**variables, "for": None}, description, event.context)
        return
    try:
        delay = duration_of(duration, env, {"trigger": variables})
    except (ConditionError, TemplateRenderError) as err:
        _LOGGER.warning("Trigger %s: bad for: %s", key, err)
        return
    context = event.context
    timers.start(
        entity_id,
        delay,
        f"{description}, waiting {human(delay)}",
        lambda: fire({**variables, "for": delay}, f"{description} for {human(delay)}", context),
    )


def _watch_with_timers(
    env: Env, config: Mapping[str, Any], timers: _ForTimers, listener: Callable[[Event], None]
) -> Detach:
    detach = _watch(env, config["entity_id"], listener)

    def stop() -> None:
        detach()
        timers.cancel_all()

    return stop


def _state(config: Mapping[str, Any], env: Env, fire: Fire, pending: Pending, key: str) -> Detach:
    timers = _ForTimers(env, pending, key)
    attribute = config.get("attribute")
    held: dict[str, Any] = {}
    words = config.get("words")  # presence triggers describe themselves
    config = {
        **config,
        "_strict": bool(
            attribute
            or config.get("to_given")
            or any(config.get(k) is not None for k in _CONSTRAINTS)
        ),
    }

    def on_change(event: Event) -> None:
        entity_id = event.data["entity_id"]
        old, new = event.data["old_state"], event.data["new_state"]
        if timers.running(entity_id) and _value(new, attribute) != held.get(entity_id):
            timers.cancel(entity_id)  # it did not stay long enough
        if not _state_matches(config, old, new):
            return
        description = words or _describe_change(entity_id, old, new, attribute)
        if config.get("for") is not None:
            held[entity_id] = _value(new, attribute)
        _fire_now_or_after(config, env, timers, fire, key, event, description)

    return _watch_with_timers(env, config, timers, on_change)


def _presence(
    config: Mapping[str, Any], env: Env, fire: Fire, pending: Pending, key: str
) -> Detach:
    words = f"{', '.join(config['entity_id'])} {config['to']}"
    state_config = {
        "entity_id": config["entity_id"],
        "to": [PRESENCE_STATES[config["to"]]],
        "for": config.get("for"),
        "words": words,
    }
    return _state(state_config, env, fire, pending, key)


def _numeric_state(
    config: Mapping[str, Any], env: Env, fire: Fire, pending: Pending, key: str
) -> Detach:
    timers = _ForTimers(env, pending, key)

    def inside(state: State | None) -> bool | None:
        try:
            value = numeric_value(state, config.get("attribute"), config.get("value_template"), env)
        except TemplateRenderError as err:
            _LOGGER.warning("Trigger %s: value_template failed: %s", key, err)
            return None
        return None if value is None else in_range(value, config["above"], config["below"], env)

    def on_change(event: Event) -> None:
        entity_id = event.data["entity_id"]
        old, new = event.data["old_state"], event.data["new_state"]
        now_inside = inside(new)
        if not now_inside:
            timers.cancel(entity_id)
            return
        if inside(old) or timers.running(entity_id):
            return  # already inside: it fires on crossing, not on every change
        value = _value(new, config.get("attribute"))
        _fire_now_or_after(config, env, timers, fire, key, event, f"{entity_id} crossed to {value}")

    return _watch_with_timers(env, config, timers, on_change)


def next_local_time(env: Env, at: time, after: datetime) -> datetime:
    """The first moment strictly after ``after`` when the local clock shows ``at``."""
    local = after.astimezone(env.time_zone)
    for days in range(3):
        day = local.date() + timedelta(days=days)
        candidate = datetime.combine(day, at, env.time_zone)
        if candidate > local:
            return candidate
    raise AssertionError("a time of day always comes within three days")


def _entity_moment(env: Env, entity_id: str, after: datetime) -> datetime | None:
    """The next moment an entity (a time, or a timestamp sensor) names."""
    state = env.hub.states.get(entity_id)
    if state is None:
        return None
    try:
        return next_local_time(env, time.fromisoformat(state.state), after)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(state.state)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=env.time_zone)
    return moment if moment > after else None


def _time(config: Mapping[str, Any], env: Env, fire: Fire, pending: Pending, key: str) -> Detach:
    cancels: dict[int, Callable[[], None]] = {}
    watches: list[Detach] = []
    weekdays = config["weekday"]

    def schedule(index: int, at: time | str) -> None:
        old = cancels.pop(index, None)
        if old is not None:
            old()
        now = env.clock.now()
        when = (
            next_local_time(env, at, now) if isinstance(at, time) else _entity_moment(env, at, now)
        )
        if when is None:
            return

        def ring() -> None:
            local = env.local_now()
            if not weekdays or WEEKDAYS[local.weekday()] in weekdays:
                label = at if isinstance(at, str) else at.isoformat()
                fire({"now": local, "at": label}, f"time {label}", None)
            schedule(index, at)

        cancels[index] = env.clock.call_at(when, ring)

    for index, at in enumerate(config["at"]):
        schedule(index, at)
        if isinstance(at, str):  # follows the entity when it changes
            watches.append(
                env.states.listen(at, lambda _e, i=index, a=at: schedule(i, a))  # type: ignore[misc]
            )

    def stop() -> None:
        for cancel in cancels.values():
            cancel()
        for watch in watches:
            watch()

    return stop


def _matching(pattern: tuple[str, int] | None, top: int, default_any: bool) -> list[int]:
    if pattern is None:
        return list(range(top + 1)) if default_any else [0]
    kind, number = pattern
    if kind == "any":
        return list(range(top + 1))
    if kind == "every":
        return list(range(0, top + 1, number))
    return [number]


def next_pattern_time(config: Mapping[str, Any], local: datetime) -> datetime:
    """The next local time matching a time_pattern (a larger unit given: smaller ones at 0)."""
    given_hours = config["hours"] is not None
    given_minutes = config["minutes"] is not None
    hours = _matching(config["hours"], 23, True)
    minutes = _matching(config["minutes"], 59, not given_hours)
    seconds = _matching(config["seconds"], 59, not (given_hours or given_minutes))
    start = local.replace(microsecond=0) + timedelta(seconds=1)
    for days in range(2):
        day = start.date() + timedelta(days=days)
        for hour in hours:
            for minute in minutes:
                for second in seconds:
                    candidate = datetime.combine(day, time(hour, minute, second), local.tzinfo)
                    if candidate >= start:
                        return candidate
    raise AssertionError("a pattern always matches within two days")


def _time_pattern(
    config: Mapping[str, Any], env: Env, fire: Fire, pending: Pending, key: str
) -> Detach:
    current: list[Callable[[], None]] = []

    def schedule() -> None:
        when = next_pattern_time(config, env.local_now())

        def ring() -> None:
            fire({"now": env.local_now()}, f"time pattern at {when:%H:%M:%S}", None)
            schedule()

        current[:] = [env.clock.call_at(when, ring)]

    schedule()
    return lambda: run_all(current)()


def _sun(config: Mapping[str, Any], env: Env, fire: Fire, pending: Pending, key: str) -> Detach:
    current: list[Callable[[], None]] = []
    event, offset = config["event"], config["offset"]

    def schedule() -> None:
        when = env.sun.next_event(event, env.clock.now(), offset)
        if when is None:
            return

        def ring() -> None:
            fire({"event": event, "offset": offset}, f"{event} ({when:%H:%M} UTC)", None)
            schedule()

        current[:] = [env.clock.call_at(when, ring)]

    schedule()
    return lambda: run_all(current)()


def _mqtt(config: Mapping[str, Any], env: Env, fire: Fire, pending: Pending, key: str) -> Detach:
    topic, wanted, template = config["topic"], config.get("payload"), config.get("value_template")
    unsubscribe: list[Callable[[], None]] = []
    stopped = False

    def on_message(message: Any) -> None:
        payload = bytes(message.payload).decode("utf-8", "replace")
        value_json: Any = None
        with contextlib.suppress(ValueError):
            value_json = json.loads(payload)
        compared = payload
        if template is not None:
            try:
                compared = env.templates.render_text(
                    template, {"value": payload, "value_json": value_json}
                )
            except TemplateRenderError as err:
                _LOGGER.warning("MQTT trigger on %s: value_template failed: %s", topic, err)
                return
        if wanted is not None and compared != wanted:
            return
        variables = {
            "topic": message.topic,
            "payload": payload,
            "payload_json": value_json,
            "qos": message.qos,
        }
        fire(variables, f"MQTT message on {message.topic}: {payload[:60]!r}", None)

    async def async_subscribe() -> None:
        runtime = mqtt_runtime(env.hub)
        if runtime is None:
            if not stopped:  # the broker's entry is not loaded (yet): look again soon
                retry = env.clock.call_later(
                    MQTT_RETRY_S,
                    lambda: _start(env, async_subscribe()),
                )
                unsubscribe[:] = [retry]
            return
        try:
            remove = await runtime.client.async_subscribe(topic, on_message)
        except ValueError as err:
            _LOGGER.error("MQTT trigger: %s", err)
            return
        if stopped:
            remove()
        else:
            unsubscribe[:] = [remove]

    env.hub.async_create_task(async_subscribe(), "automation mqtt")

    def stop() -> None:
        nonlocal stopped
        stopped = True
        for remove in unsubscribe:
            remove()

    return stop


def _event(config: Mapping[str, Any], env: Env, fire: Fire, pending: Pending, key: str) -> Detach:
    wanted = config["event_data"]

    def on_event(event: Event) -> None:
        for name, value in wanted.items():
            if event.data.get(name) != value:
                return
        fire(
            {"event": {"event_type": event.event_type, "data": dict(event.data)}},
            f"event {event.event_type}",
            event.context,
        )

    removers = [env.hub.bus.async_listen(t, on_event) for t in config["event_type"]]
    return run_all(removers)


def _homeassistant(
    config: Mapping[str, Any], env: Env, fire: Fire, pending: Pending, key: str
) -> Detach:
    listeners = env.lifecycle.setdefault(config["event"], [])

    def on_lifecycle() -> None:
        fire({"event": config["event"]}, f"hub {config['event']}", None)

    listeners.append(on_lifecycle)

    def stop() -> None:
        if on_lifecycle in listeners:
            listeners.remove(on_lifecycle)

    return stop


_ATTACHERS: dict[str, Callable[[Mapping[str, Any], Env, Fire, Pending, str], Detach]] = {
    "state": _state,
    "presence": _presence,
    "numeric_state": _numeric_state,
    "time": _time,
    "time_pattern": _time_pattern,
    "sun": _sun,
    "mqtt": _mqtt,
    "event": _event,
    "homeassistant": _homeassistant,
}


def _start(env: Env, coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` as a hub task (from a clock callback, which returns nothing)."""
    env.hub.async_create_task(coro, "automation mqtt")
