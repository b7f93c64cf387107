"""The running Bluetooth integration: scanner, bounded queue, readings to entities, watchdog.

The scanner's callback only timestamps and queues (it runs in the event loop, called by
bleak for every advertisement); one worker parses and updates entities, so a flood costs
dropped advertisements, never unbounded memory or a stalled loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from ethos.tasks import async_cancel_and_wait
from hub.integrations.bluetooth.binary_sensor import BTHomeBinarySensor
from hub.integrations.bluetooth.bthome import BTHomeReader, BTHomeReading, LibraryLogLimiter
from hub.integrations.bluetooth.const import (
    DEVICE_STALE_AFTER_S,
    LIBRARY_LOGGER,
    MANIFEST_KEY,
    MAX_QUEUED_ADVERTISEMENTS,
    MAX_TRACKED_DEVICES,
    SCANNER_SILENT_AFTER_S,
    WATCHDOG_INTERVAL_FRACTION,
)
from hub.integrations.bluetooth.entity import BTHomeEntity
from hub.integrations.bluetooth.scanner import ScannerFactory, ScannerUnavailable
from hub.integrations.bluetooth.sensor import BTHomeSensor

if TYPE_CHECKING:
    from hub.core.config_entries import ConfigEntry
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)

Queued = tuple[BLEDevice, AdvertisementData, float]


@dataclass(frozen=True)
class Timing:
    """How long silence and staleness may last before the manager acts."""

    silent_after: float = SCANNER_SILENT_AFTER_S
    stale_after: float = DEVICE_STALE_AFTER_S


def manifest_service_data_uuids(hub: Hub) -> frozenset[str]:
    """The service data UUIDs the loaded integrations' manifests match (``"bluetooth":
    [{"service_data_uuid": ...}]``), in bleak's lower-case 128-bit form."""
    return frozenset(
        matcher["service_data_uuid"].lower()
        for integration in hub.loaded_integrations.values()
        for matcher in integration.manifest.discovery.get(MANIFEST_KEY, ())
        if "service_data_uuid" in matcher
    )


class BluetoothManager:
    """Owns one scanner and the entities its advertisements feed."""

    def __init__(
        self,
        hub: Hub,
        entry: ConfigEntry,
        scanner_factory: ScannerFactory,
        adapter: str | None = None,
        timing: Timing | None = None,
        max_queued: int = MAX_QUEUED_ADVERTISEMENTS,
        max_devices: int = MAX_TRACKED_DEVICES,
    ) -> None:
        self._hub = hub
        self._entry = entry
        self.timing = timing or Timing()
        self.scanner = scanner_factory(self.on_advertisement, adapter)
        self.reader = BTHomeReader(max_devices)
        self._max_devices = max_devices
        self._addresses: set[str] = set()  # devices that have entities
        self._log_limiter = LibraryLogLimiter()
        self._queue: asyncio.Queue[Queued] = asyncio.Queue(max_queued)
        self._entities: dict[str, BTHomeEntity] = {}
        # Only advertisements a loaded integration's manifest asks for are queued.
        self.wanted_service_data = manifest_service_data_uuids(hub)
        self.ignored = 0
        self._tasks: list[asyncio.Task] = []
        self.last_heard = time.monotonic()
        self.received = 0
        self.dropped = 0
        self.processed = 0
        self.restarts = 0
        self.refused_devices = 0

    # The scanner callback ------------------------------------------------------
    def on_advertisement(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        """Called by the scanner (bleak or a replaying one) in the loop for every advert."""
        now = time.monotonic()
        self.last_heard = now
        self.received += 1
        if self.wanted_service_data.isdisjoint(advertisement.service_data):
            self.ignored += 1  # nothing here is asked for: not worth a place in the queue
            return
        try:
            self._queue.put_nowait((device, advertisement, now))
        except asyncio.QueueFull:
            self.dropped += 1

    # Lifecycle -----------------------------------------------------------------
    async def async_start(self) -> None:
        """Start scanning; ScannerUnavailable propagates so the entry goes into retry."""
        await self.scanner.async_start()
        logging.getLogger(LIBRARY_LOGGER).addFilter(self._log_limiter)
        self.last_heard = time.monotonic()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._async_work(), name="bluetooth advertisements"),
            loop.create_task(self._async_watch(), name="bluetooth watchdog"),
        ]

    async def async_stop(self) -> None:
        await async_cancel_and_wait(*self._tasks)
        self._tasks = []
        logging.getLogger(LIBRARY_LOGGER).removeFilter(self._log_limiter)
        await self.scanner.async_stop()
        for entity in list(self._entities.values()):
            if entity.entity_id is not None:
                await self._hub.entity_table.async_remove(entity.entity_id)
        self._entities.clear()

    async def async_wait_idle(self) -> None:
        """Return once every queued advertisement has been handled."""
        await self._queue.join()

    # Advertisements to entities ------------------------------------------------
    async def _async_work(self) -> None:
        while True:
            device, advertisement, heard_at = await self._queue.get()
            try:
                reading = self.reader.read(device, advertisement, heard_at)
                if reading is not None:
                    await self._async_apply(reading, heard_at)
            except Exception:
                _LOGGER.exception("Handling an advertisement from %s failed", device.address)
            finally:
                self.processed += 1
                self._queue.task_done()

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

    # Watchdog --------------------------------------------------------------------
    async def _async_watch(self) -> None:
        shortest = min(self.timing.silent_after, self.timing.stale_after)
        interval = max(shortest * WATCHDOG_INTERVAL_FRACTION, 0.01)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            if now - self.last_heard > self.timing.silent_after:
                await self.async_restart_scanner(now - self.last_heard)
            self._mark_stale(now)

    async def async_restart_scanner(self, silent_for: float) -> None:
        """Restart a scanner that has gone silent; a failure is retried on the next round."""
        _LOGGER.warning(
            "Bluetooth scanner heard nothing for %.0f s; restarting it (%s mode)",
            silent_for,
            self.scanner.mode,
        )
        self.restarts += 1
        self.last_heard = time.monotonic()
        await self.scanner.async_stop()
        try:
            await self.scanner.async_start()
        except ScannerUnavailable as err:
            _LOGGER.error("Restarting the Bluetooth scanner failed: %s", err)

    def _mark_stale(self, now: float) -> None:
        for entity in self._entities.values():
            if not entity.sleepy and now - entity.last_heard > self.timing.stale_after:
                entity.mark_stale()
