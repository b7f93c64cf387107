"""Area registry: the rooms of the home, in the owner's order, kept in the
``core.area_registry`` JSON document beside the device and entity registries.

A device is in at most one room (``DeviceRow.area_id``); an entity may be put in a room of
its own (``EntityRow.area_id``), otherwise it is in its device's room. Removing a room takes
its devices and entities out of it (they become unassigned), nothing else is lost.
"""

from __future__ import annotations

import logging
import uuid

from hub.const import AREA_MAX, AREA_NAME_MAX, EVENT_AREA_REGISTRY_UPDATED, REGISTRY_SAVE_DELAY_S
from hub.core.callback import callback
from hub.core.device_registry import DeviceRegistry
from hub.core.entity_registry import EntityRegistry
from hub.core.errors import ServiceValidationError
from hub.core.events import EventBus
from hub.core.models import AreaRow, EntityRow, row_from_json, row_to_json
from hub.core.storage import DocumentStore

_LOGGER = logging.getLogger(__name__)
STORAGE_KEY = "core.area_registry"
STORAGE_VERSION = 1


def clean_area_name(name: object) -> str:
    """The name as it will be kept; ServiceValidationError says what is wrong with it."""
    text = " ".join(str(name or "").split())
    if not text:
        raise ServiceValidationError("a room needs a name")
    if len(text) > AREA_NAME_MAX:
        raise ServiceValidationError(f"a room's name has at most {AREA_NAME_MAX} characters")
    return text


class AreaRegistry:
    """Rooms in memory, written (debounced) as one document."""

    def __init__(
        self,
        bus: EventBus,
        storage: DocumentStore,
        devices: DeviceRegistry,
        entities: EntityRegistry,
    ) -> None:
        self._bus = bus
        self._document = storage.document(STORAGE_KEY, STORAGE_VERSION)
        self._devices = devices
        self._entities = entities
        self._areas: dict[str, AreaRow] = {}

    async def async_load(self) -> None:
        data = await self._document.async_load() or {}
        for raw in data.get("areas", []):
            row = row_from_json(AreaRow, raw)
            self._areas[row.id] = row

    def _snapshot(self) -> dict[str, object]:
        return {"areas": [row_to_json(row) for row in self.async_all()]}

    def get(self, area_id: str | None) -> AreaRow | None:
        return self._areas.get(area_id) if area_id else None

    def find_by_name(self, name: str) -> AreaRow | None:
        wanted = " ".join(name.split()).casefold()
        return next((a for a in self._areas.values() if a.name.casefold() == wanted), None)

    @callback
    def async_all(self) -> list[AreaRow]:
        """Rooms in the owner's order (then by name)."""
        return sorted(self._areas.values(), key=lambda a: (a.order, a.name.casefold()))

    def area_of_entity(self, row: EntityRow) -> AreaRow | None:
        """The entity's own room, else its device's."""
        if row.area_id:
            return self.get(row.area_id)
        device = self._devices.get(row.device_id) if row.device_id else None
        return self.get(device.area_id) if device else None

    async def async_create(self, name: object) -> AreaRow:
        text = clean_area_name(name)
        if self.find_by_name(text) is not None:
            raise ServiceValidationError(f"there is already a room called {text!r}")
        if len(self._areas) >= AREA_MAX:
            raise ServiceValidationError(f"a hub keeps at most {AREA_MAX} rooms")
        order = max((a.order for a in self._areas.values()), default=-1) + 1
        row = AreaRow(id=uuid.uuid4().hex[:12], name=text, order=order)
        self._areas[row.id] = row
        self._changed("create", row.id)
        return row

    async def async_get_or_create(self, name: object) -> AreaRow:
        return self.find_by_name(clean_area_name(name)) or await self.async_create(name)

    async def async_rename(self, area_id: str, name: object) -> AreaRow:
        row = self._require(area_id)
        text = clean_area_name(name)
        other = self.find_by_name(text)
        if other is not None and other.id != area_id:
            raise ServiceValidationError(f"there is already a room called {text!r}")
        row.name = text
        self._changed("update", area_id)
        return row

    async def async_move(self, area_id: str, steps: int) -> None:
        """Move a room up (negative) or down (positive) the list."""
        ordered = self.async_all()
        row = self._require(area_id)
        index = ordered.index(row)
        ordered.insert(max(0, min(len(ordered) - 1, index + steps)), ordered.pop(index))
        for position, area in enumerate(ordered):
            area.order = position
        self._changed("update", area_id)

    async def async_remove(self, area_id: str) -> None:
        """Forget the room; its devices and entities become unassigned."""
        self._require(area_id)
        for device in self._devices.async_all():
            if device.area_id == area_id:
                await self._devices.async_set_area(device.id, None)
        for entity in self._entities.async_all():
            if entity.area_id == area_id:
                await self._entities.async_set_area(entity.entity_id, None)
        del self._areas[area_id]
        self._changed("remove", area_id)

    async def async_assign_device(self, device_id: str, area_id: str | None) -> None:
        if area_id is not None:
            self._require(area_id)
        if self._devices.get(device_id) is None:
            raise ServiceValidationError("no such device")
        await self._devices.async_set_area(device_id, area_id)

    async def async_assign_entity(self, entity_id: str, area_id: str | None) -> None:
        """Put one entity in a room of its own; None: back to its device's room."""
        if area_id is not None:
            self._require(area_id)
        if self._entities.get(entity_id) is None:
            raise ServiceValidationError("no such entity")
        await self._entities.async_set_area(entity_id, area_id)

    def _require(self, area_id: str) -> AreaRow:
        row = self._areas.get(area_id)
        if row is None:
            raise ServiceValidationError("no such room")
        return row

    def _changed(self, action: str, area_id: str) -> None:
        self._document.async_delay_save(self._snapshot, REGISTRY_SAVE_DELAY_S)
        self._bus.async_fire(EVENT_AREA_REGISTRY_UPDATED, {"action": action, "area_id": area_id})
