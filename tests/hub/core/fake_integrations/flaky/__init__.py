"""A test integration whose setup fails ``fail_times`` times before it works."""

from __future__ import annotations

from hub.core.config_entries import ConfigEntry
from hub.core.errors import ConfigEntryNotReady
from hub.core.hub import Hub


async def async_setup(hub: Hub) -> bool:
    hub.data["flaky"] = {"attempts": 0, "unloaded": 0, "order": [*hub.loaded_integrations]}
    return True


async def async_setup_entry(hub: Hub, entry: ConfigEntry) -> bool:
    record = hub.data["flaky"]
    record["attempts"] += 1
    if record["attempts"] <= entry.data.get("fail_times", 0):
        raise ConfigEntryNotReady(f"attempt {record['attempts']} refused")
    if entry.data.get("crash"):
        raise RuntimeError("broken integration")
    entry.async_on_unload(lambda: record.__setitem__("unloaded", record["unloaded"] + 1))
    return True


async def async_unload_entry(hub: Hub, entry: ConfigEntry) -> bool:
    return True
