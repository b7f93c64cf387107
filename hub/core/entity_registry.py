"""Entity registry: stable entity ids for (platform, unique_id) pairs, persisted."""

from __future__ import annotations

import logging
import re

from sqlmodel import Session, select

from hub.const import EVENT_ENTITY_REGISTRY_UPDATED
from hub.core.events import EventBus
from hub.core.models import EntityRow
from hub.core.storage import Storage

_LOGGER = logging.getLogger(__name__)
_NOT_SLUG = re.compile(r"[^a-z0-9_]+")


def slugify(text: str) -> str:
    slug = _NOT_SLUG.sub("_", text.lower()).strip("_")
    return slug or "unnamed"


class EntityRegistry:
    """Keeps entity ids stable across restarts and rediscovery."""

    def __init__(self, bus: EventBus, storage: Storage) -> None:
        self._bus = bus
        self._storage = storage
        self._by_entity_id: dict[str, EntityRow] = {}
        self._by_unique: dict[tuple[str, str], EntityRow] = {}

    async def async_load(self) -> None:
        def load(session: Session) -> list[EntityRow]:
            return list(session.exec(select(EntityRow)).all())

        for row in await self._storage.async_session(load):
            self._index(row)

    def _index(self, row: EntityRow) -> None:
        self._by_entity_id[row.entity_id] = row
        self._by_unique[(row.platform, row.unique_id)] = row

    def get(self, entity_id: str) -> EntityRow | None:
        return self._by_entity_id.get(entity_id)

    def get_by_unique_id(self, platform: str, unique_id: str) -> EntityRow | None:
        return self._by_unique.get((platform, unique_id))

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
                await self._async_save(row)
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
        await self._async_save(row)
        self._bus.async_fire(
            EVENT_ENTITY_REGISTRY_UPDATED, {"action": "create", "entity_id": row.entity_id}
        )
        return row

    async def async_rename(self, entity_id: str, name: str | None) -> EntityRow:
        row = self._by_entity_id[entity_id]
        row.name = name or None
        await self._async_save(row)
        self._bus.async_fire(
            EVENT_ENTITY_REGISTRY_UPDATED, {"action": "update", "entity_id": entity_id}
        )
        return row

    async def async_remove(self, entity_id: str) -> None:
        row = self._by_entity_id.pop(entity_id, None)
        if row is None:
            return
        self._by_unique.pop((row.platform, row.unique_id), None)

        await self._storage.async_delete(EntityRow, entity_id)
        self._bus.async_fire(
            EVENT_ENTITY_REGISTRY_UPDATED, {"action": "remove", "entity_id": entity_id}
        )

    async def _async_save(self, row: EntityRow) -> None:
        await self._storage.async_merge(row)
