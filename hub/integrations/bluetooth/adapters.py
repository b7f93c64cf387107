"""Is there a Bluetooth adapter at all? Asked of sysfs, without loading a Bluetooth stack:
on a hub without an adapter, bleak, D-Bus and the BTHome parsers would only cost memory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hub.integrations.bluetooth.const import ENV_ADAPTER

SYSFS_BLUETOOTH = Path("/sys/class/bluetooth")


def configured_adapter(environ: Mapping[str, str]) -> str | None:
    """The adapter the hub's environment names (ETHOS_HUB_BLUETOOTH_ADAPTER), or None for
    the system's default."""
    return environ.get(ENV_ADAPTER) or None


def missing_adapter(adapter: str | None, sysfs: Path = SYSFS_BLUETOOTH) -> str | None:
    """Why there is certainly no adapter to scan with, or None (there may be one: bleak will
    tell). Outside Linux there is no sysfs to ask."""
    if not sysfs.parent.is_dir():
        return None
    names = {path.name for path in sysfs.iterdir()} if sysfs.is_dir() else set()
    where = f"adapter {adapter}" if adapter else "the default adapter"
    if (adapter in names) if adapter else any(n.startswith("hci") for n in names):
        return None
    return f"Bluetooth unavailable on {where}: no such adapter on this machine ({sysfs})"
