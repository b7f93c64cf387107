"""Event bus: synchronous listeners called in the event loop, keyed by event type."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hub.const import MATCH_ALL
from hub.core.callback import callback

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Context:
    """Who or what caused a change: lets history and the UI say "switched by Alice"."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened in the hub."""

    event_type: str
    data: Mapping[str, Any]
    time_fired: datetime
    context: Context


EventListener = Callable[[Event], None]


class EventBus:
    """Dispatches events to listeners; a failing listener never stops the others."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[EventListener]] = {}

    @callback
    def async_listen(self, event_type: str, listener: EventListener) -> Callable[[], None]:
        """Call ``listener`` for each event of the type (``*`` for all); return an unsubscribe."""
        self._listeners.setdefault(event_type, []).append(listener)

        def remove() -> None:
            listeners = self._listeners.get(event_type, [])
            if listener in listeners:
                listeners.remove(listener)

        return remove

    @callback
    def async_fire(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        context: Context | None = None,
    ) -> None:
        """Fire an event now, in the loop; listeners must be quick and not block."""
        specific = self._listeners.get(event_type)
        catch_all = self._listeners.get(MATCH_ALL)
        if not specific and not catch_all:
            return
        event = Event(event_type, data or {}, datetime.now(UTC), context or Context())
        for listener in (*(specific or ()), *(catch_all or ())):
            try:
                listener(event)
            except Exception:
                _LOGGER.exception("Listener %s failed on %s", listener, event_type)

    def listener_count(self, event_type: str) -> int:
        return len(self._listeners.get(event_type, ()))
