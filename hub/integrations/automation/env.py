"""What triggers, conditions and actions share: the hub, the clock, templates, the sun,
and the index that routes a state change only to the triggers watching that entity."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from hub.const import EVENT_STATE_CHANGED
from hub.core.events import Event
from hub.integrations.automation.clock import Clock
from hub.integrations.automation.sun import Sun
from hub.integrations.automation.templating import AutomationTemplates

if TYPE_CHECKING:
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)
StateListener = Callable[[Event], None]


def run_all(callbacks: list[Callable[[], None]]) -> Callable[[], None]:
    """One detach (or cancel) that calls each of ``callbacks``."""

    def run() -> None:
        for callback in callbacks:
            callback()

    return run


class StateIndex:
    """One bus listener for every automation; a change costs a dict lookup, then only the
    listeners of that entity (none at all for an entity no automation watches)."""

    def __init__(self) -> None:
        self._by_entity: dict[str, list[StateListener]] = {}
        self._everything: list[StateListener] = []

    def listen(self, entity_id: str | None, listener: StateListener) -> Callable[[], None]:
        """``entity_id`` None: every change (wait_template)."""
        listeners = (
            self._everything if entity_id is None else self._by_entity.setdefault(entity_id, [])
        )
        listeners.append(listener)

        def remove() -> None:
            if listener in listeners:
                listeners.remove(listener)
            if entity_id is not None and not listeners:
                self._by_entity.pop(entity_id, None)

        return remove

    def watched(self) -> int:
        return len(self._by_entity)

    def dispatch(self, event: Event) -> None:
        listeners = self._by_entity.get(event.data["entity_id"])
        if listeners is None and not self._everything:
            return
        for listener in (*(listeners or ()), *self._everything):
            try:
                listener(event)
            except Exception:
                _LOGGER.exception("Automation listener failed on %s", event.data["entity_id"])

    def attach(self, hub: Hub) -> Callable[[], None]:
        return hub.bus.async_listen(EVENT_STATE_CHANGED, self.dispatch)


@dataclass
class Env:
    hub: Hub
    clock: Clock
    templates: AutomationTemplates
    sun: Sun
    time_zone: tzinfo
    states: StateIndex = field(default_factory=StateIndex)
    # `homeassistant` triggers: "start"/"shutdown" → callbacks the engine calls.
    lifecycle: dict[str, list[Callable[[], None]]] = field(default_factory=dict)

    _held_since: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def local_now(self) -> datetime:
        return self.clock.now().astimezone(self.time_zone)

    def track(self, entity_id: str) -> None:
        """Note on the engine's clock when this entity's state changes (`for:` conditions
        ask); only entities named by such conditions are followed."""
        if entity_id in self._held_since:
            return
        state = self.hub.states.get(entity_id)
        if state is not None:
            self._held_since[entity_id] = (state.state, state.last_changed)
        else:
            self._held_since[entity_id] = ("", self.clock.now())

        def on_change(event: Event) -> None:
            new = event.data["new_state"]
            value = "" if new is None else new.state
            if self._held_since[entity_id][0] != value:
                self._held_since[entity_id] = (value, self.clock.now())

        self.states.listen(entity_id, on_change)

    def held_since(self, entity_id: str) -> datetime | None:
        """Since when (engine clock) the entity has had its current state."""
        state = self.hub.states.get(entity_id)
        if state is None:
            return None
        seen = self._held_since.get(entity_id)
        if seen is not None and seen[0] == state.state:
            return seen[1]
        return state.last_changed
