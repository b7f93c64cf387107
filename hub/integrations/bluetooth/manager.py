"""The running Bluetooth integration: scanner, bounded queue, dispatch, watchdog.

The scanner's callback only timestamps and queues (it runs in the event loop, called by
bleak for every advertisement), and only advertisements some loaded integration's manifest
matches; one worker hands each to the integrations whose manifest matches it (bthome reads
BTHome into entities), so a flood costs dropped advertisements, never unbounded memory or
a stalled loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from ethos.tasks import async_cancel_and_wait
from hub.integrations.bluetooth.const import (
    DEVICE_STALE_AFTER_S,
    MANIFEST_KEY,
    MAX_QUEUED_ADVERTISEMENTS,
    MAX_TRACKED_DEVICES,
    SCANNER_SILENT_AFTER_S,
    WATCHDOG_INTERVAL_FRACTION,
)
from hub.integrations.bluetooth.handlers import HANDLER_FACTORIES, AdvertisementHandler
from hub.integrations.bluetooth.scanner import ScannerFactory, ScannerUnavailable

if TYPE_CHECKING:
    from hub.core.config_entries import ConfigEntry
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)

Queued = tuple[BLEDevice, AdvertisementData, float]


def manifest_service_data_uuids(hub: Hub, domain: str | None = None) -> frozenset[str]:
    """The service data UUIDs the loaded integrations' manifests (or ``domain``'s) match
    (``"bluetooth": [{"service_data_uuid": ...}]``), in bleak's lower-case 128-bit form."""
    return frozenset(
        matcher["service_data_uuid"].lower()
        for integration in hub.loaded_integrations.values()
        if domain is None or integration.domain == domain
        for matcher in integration.manifest.discovery.get(MANIFEST_KEY, ())
        if "service_data_uuid" in matcher
    )


@dataclass(frozen=True)
class Timing:
    """How long silence and staleness may last before the manager acts."""

    silent_after: float = SCANNER_SILENT_AFTER_S
    stale_after: float = DEVICE_STALE_AFTER_S


class BluetoothManager:
    """Owns one scanner and hands what it hears to the integrations that asked for it."""

    def __init__(
        self,
        hub: Hub,
        entry: ConfigEntry[Any],
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
        self._queue: asyncio.Queue[Queued] = asyncio.Queue(max_queued)
        self._tasks: list[asyncio.Task[None]] = []
        # Only advertisements a loaded integration's manifest asks for are queued; each
        # integration with a handler gets those its own manifest matches.
        self.wanted_service_data = manifest_service_data_uuids(hub)
        listen_for = getattr(self.scanner, "listen_for", None)  # stand-ins hear everything
        if listen_for is not None:
            listen_for(self.wanted_service_data)
        self.handlers: dict[str, AdvertisementHandler] = {
            domain: factory(hub, entry, max_devices)
            for domain, factory in (hub.data.get(HANDLER_FACTORIES) or {}).items()
        }
        self._wanted_by = {
            domain: manifest_service_data_uuids(hub, domain) for domain in self.handlers
        }
        self.last_heard = time.monotonic()
        self.received = 0
        self.ignored = 0
        self.dropped = 0
        self.processed = 0
        self.restarts = 0

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
        for handler in self.handlers.values():
            handler.start()
        self.last_heard = time.monotonic()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._async_work(), name="bluetooth advertisements"),
            loop.create_task(self._async_watch(), name="bluetooth watchdog"),
        ]

    async def async_stop(self) -> None:
        await async_cancel_and_wait(*self._tasks)
        self._tasks = []
        await self.scanner.async_stop()
        for handler in self.handlers.values():
            await handler.async_stop()

    async def async_wait_idle(self) -> None:
        """Return once every queued advertisement has been handled."""
        await self._queue.join()

    # Advertisements to the integrations that asked ------------------------------
    async def _async_work(self) -> None:
        while True:
            device, advertisement, heard_at = await self._queue.get()
            try:
                for domain, handler in self.handlers.items():
                    if not self._wanted_by[domain].isdisjoint(advertisement.service_data):
                        await handler.async_handle(device, advertisement, heard_at)
            except Exception:
                _LOGGER.exception("Handling an advertisement from %s failed", device.address)
            finally:
                self.processed += 1
                self._queue.task_done()

    # Watchdog --------------------------------------------------------------------
    async def _async_watch(self) -> None:
        shortest = min(self.timing.silent_after, self.timing.stale_after)
        interval = max(shortest * WATCHDOG_INTERVAL_FRACTION, 0.01)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            if now - self.last_heard > self.timing.silent_after:
                await self.async_restart_scanner(now - self.last_heard)
            for handler in self.handlers.values():
                handler.mark_stale(now, self.timing.stale_after)

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
