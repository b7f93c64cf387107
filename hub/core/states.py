"""State machine: the current state of every entity, with change events."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from hub.const import EVENT_STATE_CHANGED
from hub.core.callback import callback
from hub.core.events import Context, EventBus

_ENTITY_ID = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def valid_entity_id(entity_id: str) -> bool:
    return bool(_ENTITY_ID.match(entity_id))


@dataclass(frozen=True, slots=True)
class State:
    """An entity's state at one moment; immutable so listeners can keep it."""

    entity_id: str
    state: str
    attributes: Mapping[str, Any]
    last_changed: datetime
    last_updated: datetime
    context: Context

    @property
    def domain(self) -> str:
        return self.entity_id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return str(self.attributes.get("friendly_name") or self.entity_id)


class StateMachine:
    """Holds states and fires ``state_changed`` when one changes."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._states: dict[str, State] = {}

    def get(self, entity_id: str) -> State | None:
        return self._states.get(entity_id)

    @callback
    def async_all(self, domain: str | None = None) -> list[State]:
        if domain is None:
            return list(self._states.values())
        prefix = f"{domain}."
        return [s for s in self._states.values() if s.entity_id.startswith(prefix)]

    @callback
    def async_set(
        self,
        entity_id: str,
        new_state: str,
        attributes: Mapping[str, Any] | None = None,
        *,
        force_update: bool = False,
        context: Context | None = None,
    ) -> State:
        """Set a state; fire an event unless nothing changed (state and attributes)."""
        old = self._states.get(entity_id)
        if old is None and not _ENTITY_ID.match(entity_id):
            raise ValueError(f"invalid entity id {entity_id!r}")
        attributes = MappingProxyType(dict(attributes)) if attributes else _EMPTY
        same_state = old is not None and old.state == new_state
        if old is not None and same_state and not force_update and old.attributes == attributes:
            return old
        now = datetime.now(UTC)
        last_changed = old.last_changed if same_state and old is not None else now
        state = State(entity_id, new_state, attributes, last_changed, now, context or Context())
        self._states[entity_id] = state
        self._bus.async_fire(
            EVENT_STATE_CHANGED,
            {"entity_id": entity_id, "old_state": old, "new_state": state},
            state.context,
        )
        return state

    @callback
    def async_remove(self, entity_id: str, context: Context | None = None) -> bool:
        old = self._states.pop(entity_id, None)
        if old is None:
            return False
        self._bus.async_fire(
            EVENT_STATE_CHANGED,
            {"entity_id": entity_id, "old_state": old, "new_state": None},
            context,
        )
        return True
