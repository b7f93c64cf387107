"""BTHome devices heard through the bluetooth integration: advertisements read into
readings, readings into sensor and binary sensor entities, stale ones marked unavailable.

The bluetooth integration creates one ``BTHomeDevices`` per adapter entry (it owns the
entities) and hands it the advertisements the bthome manifest matches.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from hub.integrations.bthome.binary_sensor import BTHomeBinarySensor
from hub.integrations.bthome.const import LIBRARY_LOGGER
from hub.integrations.bthome.entity import BTHomeEntity
from hub.integrations.bthome.parser import BTHomeReader, BTHomeReading, LibraryLogLimiter
from hub.integrations.bthome.sensor import BTHomeSensor

if TYPE_CHECKING:
    from hub.core.config_entries import ConfigEntry
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)


class BTHomeDevices:
    """The BTHome side of one Bluetooth adapter: reader, entities, device cap."""

    def __init__(self, hub: Hub, entry: ConfigEntry[Any], max_devices: int) -> None:
        self._hub = hub
        self._entry = entry
        self.reader = BTHomeReader(max_devices)
        self._max_devices = max_devices
        self._addresses: set[str] = set()  # devices that have entities
        self._entities: dict[str, BTHomeEntity] = {}
        self._log_limiter = LibraryLogLimiter()
        self.refused_devices = 0

    def start(self) -> None:
        logging.getLogger(LIBRARY_LOGGER).addFilter(self._log_limiter)

    async def async_stop(self) -> None:
        logging.getLogger(LIBRARY_LOGGER).removeFilter(self._log_limiter)
        for entity in list(self._entities.values()):
            if entity.entity_id is not None:
                await self._hub.entity_table.async_remove(entity.entity_id)
        self._entities.clear()

    async def async_handle(
        self, device: BLEDevice, advertisement: AdvertisementData, heard_at: float
    ) -> None:
        reading = self.reader.read(device, advertisement, heard_at)
        if reading is not None:
            await self._async_apply(reading, heard_at)

    async def _async_apply(self, reading: BTHomeReading, heard_at: float) -> None:
        if reading.address not in self._addresses:
            if len(self._addresses) >= self._max_devices:
                if not self.refused_devices:
                    _LOGGER.warning(
                        "Already %d BTHome devices; ignoring new ones such as %s",
                        self._max_devices,
                        reading.address,
                    )
                self.refused_devices += 1
                return
            self._addresses.add(reading.address)
        for measurement in reading.measurements:
            unique_id = f"{reading.address}-{measurement.key}"
            entity = self._entities.get(unique_id)
            if entity is not None:
                entity.update(measurement, heard_at)
                continue
            kind = BTHomeBinarySensor if measurement.binary else BTHomeSensor
            entity = kind(reading, measurement, heard_at)
            self._entities[unique_id] = entity
            await self._hub.entity_table.async_add(entity, self._entry.entry_id)

    def mark_stale(self, now: float, stale_after: float) -> None:
        for entity in self._entities.values():
            if not entity.sleepy and now - entity.last_heard > stale_after:
                entity.mark_stale()
