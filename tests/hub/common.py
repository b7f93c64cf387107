"""Helpers shared by the hub tests: configs and a started hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from hub.core.config import HubConfig
from hub.core.hub import Hub
from hub.core.loader import INTEGRATIONS_DIR, INTEGRATIONS_PACKAGE

FAKE_INTEGRATIONS = Path(__file__).parent / "core" / "fake_integrations"
FAKE_SOURCE = (FAKE_INTEGRATIONS, "tests.hub.core.fake_integrations")
REAL_SOURCE = (INTEGRATIONS_DIR, INTEGRATIONS_PACKAGE)
FAST_SETUP_RETRY_S = 0.05


def make_config(data_dir: Path, **overrides: object) -> HubConfig:
    fields: dict[str, object] = {"data_dir": data_dir, "integrations": ()}
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
