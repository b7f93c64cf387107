"""Device registry: physical devices, matched by identifiers or connections, kept in the
``core.device_registry`` JSON document."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from hub.const import EVENT_DEVICE_REGISTRY_UPDATED, REGISTRY_SAVE_DELAY_S
from hub.core.callback import callback
from hub.core.events import EventBus
from hub.core.models import (
    DESCRIPTION_FIELDS,
    DeviceInfo,
    DeviceRow,
    row_from_json,
    row_to_json,
)
from hub.core.storage import DocumentStore

_LOGGER = logging.getLogger(__name__)

Pair = tuple[str, str]
STORAGE_KEY = "core.device_registry"
STORAGE_VERSION = 1


class DeviceRegistry:
    """In memory for fast reads; written (debounced) as one document."""

    def __init__(self, bus: EventBus, storage: DocumentStore) -> None:
        self._bus = bus
        self._document = storage.document(STORAGE_KEY, STORAGE_VERSION)
        self._devices: dict[str, DeviceRow] = {}

    async def async_load(self) -> None:
        data = await self._document.async_load() or {}
        for raw in data.get("devices", []):
            row = row_from_json(DeviceRow, raw)
            self._devices[row.id] = row

    def _snapshot(self) -> dict[str, object]:
        return {"devices": [row_to_json(row) for row in self._devices.values()]}

    def get(self, device_id: str) -> DeviceRow | None:
        return self._devices.get(device_id)

    @callback
    def async_all(self) -> list[DeviceRow]:
        return sorted(self._devices.values(), key=lambda d: d.name_by_user or d.name or d.id)

    def find(
        self, identifiers: Iterable[Sequence[str]] = (), connections: Iterable[Sequence[str]] = ()
    ) -> DeviceRow | None:
        wanted_ids = {tuple(i) for i in identifiers}
        wanted_cns = {tuple(c) for c in connections}
        for device in self._devices.values():
            if wanted_ids & {tuple(i) for i in device.identifiers}:
                return device
            if wanted_cns & {tuple(c) for c in device.connections}:
                return device
        return None

    async def async_get_or_create(
        self, info: DeviceInfo, *, config_entry_id: str | None = None
    ) -> DeviceRow:
        """Return the device matching any identifier/connection, updated with ``info``."""
        id_pairs = [list(i) for i in info.identifiers]
        cn_pairs = [list(c) for c in info.connections]
        if not id_pairs and not cn_pairs:
            raise ValueError("a device needs at least one identifier or connection")
        device = self.find(id_pairs, cn_pairs)
        action = "update"
        if device is None:
            action = "create"
            device = DeviceRow(id=uuid.uuid4().hex, config_entry_id=config_entry_id)
            self._devices[device.id] = device
        changed = action == "create"
        for key, pairs in (("identifiers", id_pairs), ("connections", cn_pairs)):
            merged = list(getattr(device, key))
            for pair in pairs:
                if pair not in merged:
                    merged.append(pair)
                    changed = True
            setattr(device, key, merged)
        for key in DESCRIPTION_FIELDS:
            value = getattr(info, key)
            if value is not None and getattr(device, key) != value:
                setattr(device, key, value)
                changed = True
        if any(device.extra.get(key) != value for key, value in info.extra.items()):
            device.extra = {**device.extra, **info.extra}
            changed = True
        if changed:
            self._async_schedule_save()
            self._bus.async_fire(
                EVENT_DEVICE_REGISTRY_UPDATED, {"action": action, "device_id": device.id}
            )
        return device

    async def async_update(self, device_id: str, *, name_by_user: str | None) -> DeviceRow:
        device = self._devices[device_id]
        device.name_by_user = name_by_user or None
        self._async_schedule_save()
        self._bus.async_fire(
            EVENT_DEVICE_REGISTRY_UPDATED, {"action": "update", "device_id": device_id}
        )
        return device

    async def async_set_area(self, device_id: str, area_id: str | None) -> DeviceRow:
        """Put the device in a room (None: in none); rooms are checked by the area registry."""
        device = self._devices[device_id]
        if device.area_id != area_id:
            device.area_id = area_id
            self._async_schedule_save()
            self._bus.async_fire(
                EVENT_DEVICE_REGISTRY_UPDATED,
                {"action": "update", "device_id": device_id, "area_id": area_id},
            )
        return device

    async def async_set_extra(self, device_id: str, key: str, value: Any) -> DeviceRow | None:
        """Store one integration's note on a device (``extra[key]``), e.g. its adoption."""
        device = self._devices.get(device_id)
        if device is None:
            return None
        if device.extra.get(key) == value:
            return device
        device.extra = {**device.extra, key: value}
        self._async_schedule_save()
        self._bus.async_fire(
            EVENT_DEVICE_REGISTRY_UPDATED,
            {"action": "update", "device_id": device_id, "extra": key},
        )
        return device

    async def async_remove(self, device_id: str) -> None:
        """Forget the device; integrations listening clean up their side (entities, topics)."""
        device = self._devices.pop(device_id, None)
        if device is None:
            return
        self._async_schedule_save()
        self._bus.async_fire(
            EVENT_DEVICE_REGISTRY_UPDATED,
            {"action": "remove", "device_id": device_id, "device": device},
        )

    def _async_schedule_save(self) -> None:
        self._document.async_delay_save(self._snapshot, REGISTRY_SAVE_DELAY_S)
