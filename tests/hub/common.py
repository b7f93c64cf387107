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


def make_config(data_dir: Path, **overrides: object) -> HubConfig:
    fields: dict[str, object] = {"data_dir": data_dir, "integrations": ()}
    fields.update(overrides)
    return HubConfig(**fields)  # type: ignore[arg-type]


@asynccontextmanager
async def running_hub(config: HubConfig) -> AsyncIterator[Hub]:
    hub = Hub(config)
    await hub.async_start()
    try:
        yield hub
    finally:
        await hub.async_stop()
