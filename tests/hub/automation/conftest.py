"""A running hub with the automation engine on a clock the test drives, and a service that
records its calls (the "device" automations act on)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.core.hub import Hub
from hub.integrations.automation import AutomationEngine, ManualClock, automation_engine
from hub.integrations.automation.const import DATA_CLOCK
from tests.hub.automation.common import Calls, HomeUnderTest, write_automations
from tests.hub.common import make_config
from tests.hub.web.conftest import owner  # noqa: F401  (the web tests' signed-in owner)

# A Wednesday, 10:00 UTC: tests that care about time of day say so.
START = datetime(2026, 6, 10, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def start_home(
    tmp_path: Path, clock: ManualClock
) -> AsyncIterator[Callable[..., Awaitable[HomeUnderTest]]]:
    """``await start_home(yaml, **config)``: a hub with these automations, started."""
    hubs: list[Hub] = []

    async def start(yaml: str = "[]\n", **overrides: object) -> HomeUnderTest:
        fields: dict[str, object] = {"integrations": ("automation",), "time_zone": "UTC"}
        fields.update(overrides)
        config = make_config(tmp_path, **fields)
        write_automations(config.hub_dir, yaml)
        hub = Hub(config)
        hub.data[DATA_CLOCK] = clock
        calls = Calls(hub)
        hubs.append(hub)
        await hub.async_start()
        engine = automation_engine(hub)
        assert isinstance(engine, AutomationEngine)
        return HomeUnderTest(hub, engine, clock, calls)

    yield start
    for hub in hubs:
        await hub.async_stop()
