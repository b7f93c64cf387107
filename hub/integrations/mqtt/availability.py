"""Availability from one or more MQTT topics, combined by mode (all, any, latest)."""

from __future__ import annotations

from hub.integrations.mqtt.schema import AvailabilityConfig
from hub.integrations.mqtt.template import TemplateCompiler, ValueTemplate


class Availability:
    """Unavailable until a topic says available, like Home Assistant."""

    def __init__(
        self, items: list[AvailabilityConfig], mode: str, compiler: TemplateCompiler
    ) -> None:
        self._items = items
        self._mode = mode
        self._templates = {
            id(item): ValueTemplate(item.value_template, compiler)
            for item in items
            if item.value_template
        }
        # A template refused before any message (its cost does not depend on one).
        self.refused = next((t.refused for t in self._templates.values() if t.refused), None)
        self._status: dict[str, bool | None] = {item.topic: None for item in items}
        self._latest: bool | None = None

    @property
    def topics(self) -> list[str]:
        return list(self._status)

    @property
    def available(self) -> bool:
        if not self._items:
            return True
        if self._mode == "all":
            return all(v is True for v in self._status.values())
        if self._mode == "any":
            return any(v is True for v in self._status.values())
        return self._latest is True

    def update(self, topic: str, payload: str) -> bool:
        """Apply a message; return True when it said something we understood."""
        understood = False
        for item in self._items:
            if item.topic != topic:
                continue
            template = self._templates.get(id(item))
            value = template.render(payload) if template is not None else payload
            if value == item.payload_available:
                self._status[topic] = self._latest = True
                understood = True
            elif value == item.payload_not_available:
                self._status[topic] = self._latest = False
                understood = True
        return understood
