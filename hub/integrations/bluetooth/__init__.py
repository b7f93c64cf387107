"""Bluetooth integration: BTHome v2 sensors heard through bleak, passively where possible.

One config entry per adapter, created at start. Without an adapter (or BlueZ) the entry
goes into setup retry with the reason; the rest of the hub runs on. Bleak and the BTHome
parsers are imported only once an adapter is there. Another scanner (tests, a remote proxy)
can stand in for bleak through ``hub.data[SCANNER_FACTORY]``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from hub.core.errors import ConfigEntryNotReady
from hub.core.hub_data import HubKey
from hub.integrations.bluetooth.adapters import configured_adapter, missing_adapter
from hub.integrations.bluetooth.const import (
    CONF_ADAPTER,
    CONF_MAX_DEVICES,
    CONF_SILENT_AFTER,
    CONF_STALE_AFTER,
    DEVICE_STALE_AFTER_S,
    DOMAIN,
    MAX_TRACKED_DEVICES,
    SCANNER_SILENT_AFTER_S,
    TITLE,
)

if TYPE_CHECKING:
    from hub.core.config_entries import ConfigEntry
    from hub.core.hub import Hub
    from hub.integrations.bluetooth.scanner import ScannerFactory

_LOGGER = logging.getLogger(__name__)

SCANNER_FACTORY: Final[HubKey[ScannerFactory]] = HubKey(f"{DOMAIN}.scanner_factory")


async def async_setup(hub: Hub) -> bool:
    """Make sure one entry exists; its adapter follows ETHOS_HUB_BLUETOOTH_ADAPTER."""
    adapter = configured_adapter(hub.config.environ)
    entries = hub.config_entries.async_entries(DOMAIN)
    if not entries:
        await hub.config_entries.async_add(DOMAIN, TITLE, {CONF_ADAPTER: adapter}, setup=False)
    elif entries[0].data.get(CONF_ADAPTER) != adapter:
        await hub.config_entries.async_update_data(
            entries[0], {**entries[0].data, CONF_ADAPTER: adapter}
        )
    return True


async def async_setup_entry(hub: Hub, entry: ConfigEntry) -> bool:
    factory = hub.data.get(SCANNER_FACTORY)
    if factory is None:
        reason = missing_adapter(entry.data.get(CONF_ADAPTER))
        if reason is not None:
            raise ConfigEntryNotReady(reason)
        from hub.integrations.bluetooth.scanner import BleakAdvertisementScanner

        factory = BleakAdvertisementScanner
    from hub.integrations.bluetooth.manager import BluetoothManager, Timing
    from hub.integrations.bluetooth.scanner import ScannerUnavailable

    timing = Timing(
        silent_after=float(entry.data.get(CONF_SILENT_AFTER, SCANNER_SILENT_AFTER_S)),
        stale_after=float(entry.data.get(CONF_STALE_AFTER, DEVICE_STALE_AFTER_S)),
    )
    manager = BluetoothManager(
        hub,
        entry,
        factory,
        entry.data.get(CONF_ADAPTER),
        timing,
        max_devices=int(entry.data.get(CONF_MAX_DEVICES, MAX_TRACKED_DEVICES)),
    )
    try:
        await manager.async_start()
    except ScannerUnavailable as err:
        raise ConfigEntryNotReady(str(err)) from err
    entry.runtime_data = manager
    entry.async_on_unload(manager.async_stop)
    return True


async def async_unload_entry(hub: Hub, entry: ConfigEntry) -> bool:
    return True
