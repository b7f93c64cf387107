"""Traces reach the disk now and then, and only when there is something new: a hub where
nothing runs writes nothing (the SD card wears with every write)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hub.integrations.automation.const import STATE_DIR, TRACES_FILE
from hub.integrations.automation.engine import TRACE_SAVE_INTERVAL_S

ONE_AUTOMATION = """
- id: porch
  triggers: [{trigger: event, event_type: go}]
  actions: [{action: test.record}]
"""


async def _written(path: Path) -> bool:
    """The save runs in the executor: give the thread a moment to finish."""
    for _ in range(100):
        if path.exists():  # noqa: ASYNC240 -- a test polling a tiny file
            return True
        await asyncio.sleep(0.02)
    return False


async def test_a_hub_where_no_automation_runs_writes_no_traces(start_home) -> None:
    home = await start_home(ONE_AUTOMATION)
    traces_file = home.hub.config.hub_dir / STATE_DIR / TRACES_FILE

    await home.advance(3 * TRACE_SAVE_INTERVAL_S)

    assert not await _written(traces_file)


async def test_a_run_is_saved_within_one_interval_and_not_again_unchanged(start_home) -> None:
    home = await start_home(ONE_AUTOMATION)
    traces_file = home.hub.config.hub_dir / STATE_DIR / TRACES_FILE
    home.hub.bus.async_fire("go", {})
    await home.advance(1)

    await home.advance(TRACE_SAVE_INTERVAL_S)
    assert await _written(traces_file)
    saved = json.loads(traces_file.read_text())
    assert [t["automation_id"] for t in saved["porch"]] == ["porch"]

    traces_file.unlink()
    await home.advance(3 * TRACE_SAVE_INTERVAL_S)
    assert not await _written(traces_file)
