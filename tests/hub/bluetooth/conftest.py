"""A hub whose Bluetooth integration listens to a replaying scanner instead of an adapter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from hub.core.hub import Hub
from hub.integrations.bluetooth import SCANNER_FACTORY
from hub.integrations.bluetooth.manager import BluetoothManager
from hub.integrations.bluetooth.scanner import (
    AdvertisementCallback,
    ScannerFactory,
    ScannerUnavailable,
)
from hub.integrations.bthome.devices import BTHomeDevices
from tests.hub.bluetooth.advertisements import to_bleak
from tests.hub.common import StartedHubs, make_config

__all__ = ["ReplayScanner", "feed", "manager", "scanner"]


class ReplayScanner:
    """Implements the integration's scanner interface; replays raw advertisement bytes."""

    def __init__(self, callback: AdvertisementCallback, adapter: str | None) -> None:
        self.callback = callback
        self.adapter = adapter
        self.mode = "stopped"
        self.starts = 0
        self.stops = 0
        self.refuse_starts = 0  # how many of the next starts fail like a vanished adapter

    async def async_start(self) -> None:
        if self.refuse_starts:
            self.refuse_starts -= 1
            raise ScannerUnavailable("Bluetooth unavailable on hci9: adapter vanished")
        self.starts += 1
        self.mode = "passive"

    async def async_stop(self) -> None:
        self.stops += 1
        self.mode = "stopped"

    def feed(self, raw: bytes, address: str = "A4:C1:38:00:00:01", rssi: int = -60) -> None:
        """Hand the callback what bleak would hand it for these bytes on air."""
        assert self.mode != "stopped", "a stopped scanner hears nothing"
        self.callback(*to_bleak(raw, address, rssi))


@pytest.fixture
async def start_hub(tmp_path: Path) -> AsyncIterator[Callable[..., asyncio.Future]]:
    started = StartedHubs()

    async def start(
        *,
        entry_data: dict | None = None,
        scanner_factory: ScannerFactory = ReplayScanner,
        **overrides: object,
    ) -> Hub:
        overrides.setdefault("integrations", ("bluetooth", "bthome"))
        hub = Hub(make_config(tmp_path, **overrides))
        hub.data[SCANNER_FACTORY] = scanner_factory
        await started.async_start(hub)
        if entry_data:
            # Options live in the entry's data: reload it with them, as a settings change would.
            entry = hub.config_entries.async_entries("bluetooth")[0]
            await hub.config_entries.async_unload(entry.entry_id)
            await hub.config_entries.async_update_data(entry, {**entry.data, **entry_data})
            await hub.config_entries.async_setup(entry.entry_id)
        return hub

    yield start  # type: ignore[misc]
    await started.async_stop_all()


def manager(hub: Hub) -> BluetoothManager:
    return hub.config_entries.async_entries("bluetooth")[0].runtime_data


def bthome_devices(hub: Hub) -> BTHomeDevices:
    """The BTHome side of the adapter: what bthome made of the advertisements it was given."""
    return manager(hub).handlers["bthome"]  # type: ignore[return-value]


def scanner(hub: Hub) -> ReplayScanner:
    return manager(hub).scanner  # type: ignore[return-value]


async def feed(hub: Hub, raw: bytes, address: str = "A4:C1:38:00:00:01", rssi: int = -60) -> None:
    """Feed one advertisement and wait until the integration has handled it."""
    scanner(hub).feed(raw, address, rssi)
    await manager(hub).async_wait_idle()
