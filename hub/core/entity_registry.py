"""Entity registry: stable entity ids for (platform, unique_id) pairs, kept in the
``core.entity_registry`` JSON document."""

from __future__ import annotations

import logging
import re

from hub.const import EVENT_ENTITY_REGISTRY_UPDATED, REGISTRY_SAVE_DELAY_S
from hub.core.callback import callback
from hub.core.events import EventBus
from hub.core.models import EntityRow, row_from_json, row_to_json
from hub.core.storage import DocumentStore

_LOGGER = logging.getLogger(__name__)
_NOT_SLUG = re.compile(r"[^a-z0-9_]+")
STORAGE_KEY = "core.entity_registry"
STORAGE_VERSION = 1


def slugify(text: str) -> str:
    slug = _NOT_SLUG.sub("_", text.lower()).strip("_")
    return slug or "unnamed"


class EntityRegistry:
    """Keeps entity ids stable across restarts and rediscovery."""

    def __init__(self, bus: EventBus, storage: DocumentStore) -> None:
        self._bus = bus
        self._document = storage.document(STORAGE_KEY, STORAGE_VERSION)
        self._by_entity_id: dict[str, EntityRow] = {}
        self._by_unique: dict[tuple[str, str], EntityRow] = {}

    async def async_load(self) -> None:
        data = await self._document.async_load() or {}
        for raw in data.get("entities", []):
            self._index(row_from_json(EntityRow, raw))

    def _snapshot(self) -> dict[str, object]:
        return {"entities": [row_to_json(row) for row in self._by_entity_id.values()]}

    def _index(self, row: EntityRow) -> None:
        self._by_entity_id[row.entity_id] = row
        self._by_unique[(row.platform, row.unique_id)] = row

    def get(self, entity_id: str) -> EntityRow | None:
        return self._by_entity_id.get(entity_id)

    def get_by_unique_id(self, platform: str, unique_id: str) -> EntityRow | None:
        return self._by_unique.get((platform, unique_id))

    @callback
    def async_all(self) -> list[EntityRow]:
        return sorted(self._by_entity_id.values(), key=lambda e: e.entity_id)

    def entities_for_device(self, device_id: str) -> list[EntityRow]:
        return [e for e in self._by_entity_id.values() if e.device_id == device_id]

    def _free_entity_id(self, domain: str, object_id: str) -> str:
        base = f"{domain}.{slugify(object_id)}"
        candidate, n = base, 2
        while candidate in self._by_entity_id:
            candidate, n = f"{base}_{n}", n + 1
        return candidate

    async def async_get_or_create(
        self,
        domain: str,
        platform: str,
        unique_id: str,
        *,
        suggested_object_id: str,
        device_id: str | None = None,
        config_entry_id: str | None = None,
        original_name: str | None = None,
    ) -> EntityRow:
        row = self._by_unique.get((platform, unique_id))
        if row is not None:
            if (row.device_id, row.original_name) != (device_id, original_name):
                row.device_id, row.original_name = device_id, original_name
                self._async_schedule_save()
            return row
        row = EntityRow(
            entity_id=self._free_entity_id(domain, suggested_object_id),
            platform=platform,
            unique_id=unique_id,
            device_id=device_id,
            config_entry_id=config_entry_id,
            original_name=original_name,
        )
        self._index(row)
        self._async_schedule_save()
        self._bus.async_fire(
            EVENT_ENTITY_REGISTRY_UPDATED, {"action": "create", "entity_id": row.entity_id}
        )
        return row

    async def async_rename(self, entity_id: str, name: str | None) -> EntityRow:
        row = self._by_entity_id[entity_id]
        row.name = name or None
        self._async_schedule_save()
        self._bus.async_fire(
            EVENT_ENTITY_REGISTRY_UPDATED, {"action": "update", "entity_id": entity_id}
        )
        return row

    async def async_set_area(self, entity_id: str, area_id: str | None) -> EntityRow:
        """Put the entity in a room of its own (None: its device's room)."""
        row = self._by_entity_id[entity_id]
        if row.area_id != area_id:
            row.area_id = area_id
            self._async_schedule_save()
            self._bus.async_fire(
                EVENT_ENTITY_REGISTRY_UPDATED, {"action": "update", "entity_id": entity_id}
            )
        return row

    async def async_remove(self, entity_id: str) -> None:
        row = self._by_entity_id.pop(entity_id, None)
        if row is None:
            return
        self._by_unique.pop((row.platform, row.unique_id), None)
        self._async_schedule_save()
        self._bus.async_fire(
            EVENT_ENTITY_REGISTRY_UPDATED, {"action": "remove", "entity_id": entity_id}
        )

    def _async_schedule_save(self) -> None:
        self._document.async_delay_save(self._snapshot, REGISTRY_SAVE_DELAY_S)
