"""Helpers shared by the hub tests: configs and a started hub."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from hub.core.config import HubConfig
from hub.core.hub import Hub
from hub.core.loader import INTEGRATIONS_DIR, INTEGRATIONS_PACKAGE
from hub.integrations.bluetooth.const import ENV_ADAPTER
from hub.integrations.mqtt.const import ENV_DISCOVERY_PREFIX, ENV_MQTT_URL
from hub.integrations.zeroconf.const import ENV_INTERFACES

FAKE_INTEGRATIONS = Path(__file__).parent / "core" / "fake_integrations"
FAKE_SOURCE = (FAKE_INTEGRATIONS, "tests.hub.core.fake_integrations")
REAL_SOURCE = (INTEGRATIONS_DIR, INTEGRATIONS_PACKAGE)
FAST_SETUP_RETRY_S = 0.05


# Integration settings tests give by name, passed as the environment the integrations read
# (None: unset; a tuple: a comma-separated list).
INTEGRATION_SETTINGS = {
    "mqtt_url": ENV_MQTT_URL,
    "discovery_prefix": ENV_DISCOVERY_PREFIX,
    "zeroconf_interfaces": ENV_INTERFACES,
    "bluetooth_adapter": ENV_ADAPTER,
}


def make_config(data_dir: Path, **overrides: object) -> HubConfig:
    environ = dict(overrides.pop("environ", None) or {})  # type: ignore[call-overload]
    for name, variable in INTEGRATION_SETTINGS.items():
        value = overrides.pop(name, None)
        if value is not None:
            environ[variable] = ",".join(value) if isinstance(value, tuple) else str(value)
    fields: dict[str, object] = {"data_dir": data_dir, "integrations": (), "environ": environ}
    fields.update(overrides)
    return HubConfig(**fields)  # type: ignore[arg-type]


class StartedHubs:
    """The hubs one test starts (setup retries made fast), all stopped when it ends."""

    def __init__(self) -> None:
        self._hubs: list[Hub] = []

    async def async_start(self, hub: Hub) -> Hub:
        hub.config_entries.retry_first_delay = FAST_SETUP_RETRY_S
        self._hubs.append(hub)
        await hub.async_start()
        return hub

    async def async_stop_all(self) -> None:
        for hub in self._hubs:
            await hub.async_stop()


@asynccontextmanager
async def running_hub(config: HubConfig) -> AsyncIterator[Hub]:
    hub = Hub(config)
    await hub.async_start()
    try:
        yield hub
    finally:
        await hub.async_stop()


async def async_written_document(hub: Hub, key: str) -> Any:
    """The data of document ``key`` as it is on disk once every pending change is written."""
    await hub.storage.async_flush()
    path = hub.config.hub_dir / "storage" / f"{key}.json"
    return json.loads(path.read_text())["data"]


def everything_written(hub_dir: Path) -> bytes:
    """Every byte the hub keeps in its folder (documents, their copies, history, WAL)."""
    return b"".join(p.read_bytes() for p in sorted(hub_dir.rglob("*")) if p.is_file())
