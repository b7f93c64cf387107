"""Live entity objects: registers them, gives them ids, and routes service calls to them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hub.const import ATTR_ENTITY_ID, EVENT_DEVICE_REGISTRY_UPDATED
from hub.core.entity import Entity
from hub.core.errors import ServiceValidationError
from hub.core.events import Event
from hub.core.services import ServiceCall

if TYPE_CHECKING:
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)


class EntityTable:
    """The hub's running entities, by entity id."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._entities: dict[str, Entity] = {}
        hub.bus.async_listen(EVENT_DEVICE_REGISTRY_UPDATED, self._on_device_event)

    def _on_device_event(self, event: Event) -> None:
        if event.data.get("action") == "remove":
            self._hub.async_create_task(
                self.async_forget_device(event.data["device_id"]), "forget device entities"
            )

    async def async_forget_device(self, device_id: str) -> None:
        """A removed device takes its entities along, whichever integration made them."""
        for row in self._hub.entities.entities_for_device(device_id):
            await self.async_remove(row.entity_id, forget=True)

    def get(self, entity_id: str) -> Entity | None:
        return self._entities.get(entity_id)

    def __len__(self) -> int:
        return len(self._entities)

    async def async_add(self, entity: Entity, config_entry_id: str | None = None) -> str:
        """Register the entity (device first), bind its id, write its first state."""
        hub = self._hub
        device_id = None
        info = entity.device_info
        if info is not None and (info.identifiers or info.connections):
            device = await hub.devices.async_get_or_create(info, config_entry_id=config_entry_id)
            device_id = device.id
        row = await hub.entities.async_get_or_create(
            entity.domain,
            entity.platform,
            entity.unique_id,
            suggested_object_id=entity.suggested_object_id,
            device_id=device_id,
            config_entry_id=config_entry_id,
            original_name=entity.original_name,
        )
        if row.entity_id in self._entities:
            await self.async_remove(row.entity_id)
        entity.bind(
            hub, row.entity_id, device_id, row.name or entity.original_name or row.entity_id
        )
        self._entities[row.entity_id] = entity
        for service in entity.services:
            if not hub.services.has_service(entity.domain, service):
                hub.services.async_register(entity.domain, service, self._async_dispatch)
        await entity.async_added()
        entity.async_write_state()
        return row.entity_id

    async def async_remove(self, entity_id: str, *, forget: bool = False) -> None:
        """Stop the entity and drop its state; ``forget`` also removes it from the registry."""
        entity = self._entities.pop(entity_id, None)
        if entity is not None:
            try:
                await entity.async_will_remove()
            except Exception:
                _LOGGER.exception("Removing %s failed", entity_id)
        self._hub.states.async_remove(entity_id)
        if forget:
            await self._hub.entities.async_remove(entity_id)

    async def async_rename(self, entity_id: str, name: str | None) -> None:
        row = await self._hub.entities.async_rename(entity_id, name)
        entity = self._entities.get(entity_id)
        if entity is not None:
            entity.bind(
                self._hub,
                entity_id,
                entity.device_id,
                row.name or entity.original_name or entity_id,
            )
            entity.async_write_state()

    async def _async_dispatch(self, call: ServiceCall) -> None:
        target = call.data.get(ATTR_ENTITY_ID)
        entity_ids = [target] if isinstance(target, str) else list(target or [])
        if not entity_ids:
            raise ServiceValidationError(f"{call.domain}.{call.service} needs an entity_id")
        for entity_id in entity_ids:
            entity = self._entities.get(entity_id)
            if entity is None or entity.domain != call.domain:
                raise ServiceValidationError(f"no {call.domain} entity {entity_id!r}")
            if call.service not in entity.services:
                raise ServiceValidationError(f"{entity_id} does not support {call.service}")
            data = {k: v for k, v in call.data.items() if k != ATTR_ENTITY_ID}
            await entity.async_handle_service(call.service, data, call.context)
