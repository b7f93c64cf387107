"""Entities: the objects integrations create; each writes one state to the state machine."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from hub.const import ATTR_FRIENDLY_NAME, STATE_UNAVAILABLE, STATE_UNKNOWN
from hub.core.callback import callback
from hub.core.events import Context
from hub.core.models import DeviceInfo

if TYPE_CHECKING:
    from hub.core.hub import Hub


class Entity:
    """Base class: subclasses set ``domain`` and ``services`` and implement state/commands."""

    domain: ClassVar[str]
    services: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        *,
        platform: str,
        unique_id: str,
        name: str | None,
        object_id: str | None = None,
        device_info: DeviceInfo | None = None,
    ) -> None:
        self.platform = platform
        self.unique_id = unique_id
        self.original_name = name
        self.suggested_object_id = object_id or name or unique_id
        self.device_info = device_info
        self.hub: Hub | None = None
        self.entity_id: str | None = None
        self.device_id: str | None = None
        self._static_attributes: Mapping[str, Any] = MappingProxyType({})
        self._extra_attributes: dict[str, Any] = {}

    # What subclasses provide -------------------------------------------------
    @property
    def available(self) -> bool:
        return True

    def state_value(self) -> str | None:
        """The state as a string; None means unknown."""
        return None

    def static_attributes(self) -> dict[str, Any]:
        """Attributes that only change when the entity is re-created (unit, class...)."""
        return {}

    async def async_handle_service(
        self, service: str, data: Mapping[str, Any], context: Context
    ) -> None:
        raise NotImplementedError

    async def async_added(self) -> None:
        """Hook: subscribe to sources once the entity has its id."""

    async def async_will_remove(self) -> None:
        """Hook: undo what async_added did."""

    # Provided ----------------------------------------------------------------
    def set_extra_attributes(self, attributes: Mapping[str, Any]) -> None:
        self._extra_attributes = dict(attributes)
        self._rebuild_attributes()

    def bind(self, hub: Hub, entity_id: str, device_id: str | None, display_name: str) -> None:
        self.hub, self.entity_id, self.device_id = hub, entity_id, device_id
        self._display_name = display_name
        self._rebuild_attributes()

    def _rebuild_attributes(self) -> None:
        attrs = {**self._extra_attributes, **self.static_attributes()}
        attrs[ATTR_FRIENDLY_NAME] = getattr(self, "_display_name", self.original_name)
        # Immutable and reused across writes so an unchanged state costs no copy.
        self._static_attributes = MappingProxyType(attrs)

    @callback
    def async_write_state(self, context: Context | None = None) -> None:
        if self.hub is None or self.entity_id is None:
            return
        value: str | None = STATE_UNAVAILABLE if not self.available else self.state_value()
        if value is None:
            value = STATE_UNKNOWN
        self.hub.states.async_set(self.entity_id, value, self._static_attributes, context=context)
