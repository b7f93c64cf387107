"""The history writer: batched commits at the configured interval, purges in small batches,
and a full disk that costs nothing already committed."""

from __future__ import annotations

import json
import sqlite3
import stat
import textwrap
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.const import HISTORY_PURGE_BATCH
from hub.core.config import HubConfig
from tests.hub.common import make_config, running_hub
from tests.support.processes import run_python_code


def _rows_on_disk(hub_dir: Path) -> list[tuple[str, str]]:
    """What another reader of the file sees: committed rows only."""
    with closing(sqlite3.connect(hub_dir / "history.db")) as conn:
        return conn.execute(
            "SELECT e.entity_id, s.state FROM states s JOIN entities e ON e.id = s.entity "
            "ORDER BY s.rowid"
        ).fetchall()


async def test_changes_are_committed_together_once_per_interval(tmp_path: Path) -> None:
    config = make_config(tmp_path, history_commit_interval=3600)
    async with running_hub(config) as hub:
        for value in ("1", "2", "2", "3"):
            hub.states.async_set("sensor.x", value)
        hub.states.async_set("sensor.y", "9")
        assert _rows_on_disk(config.hub_dir) == []  # buffered until the commit
        assert await hub.recorder.async_flush()
        assert _rows_on_disk(config.hub_dir) == [
            ("sensor.x", "1"),
            ("sensor.x", "2"),
            ("sensor.x", "3"),
            ("sensor.y", "9"),
        ]
        assert hub.recorder.recorded == 4
    # Who was home when is the hub user's alone.
    assert stat.S_IMODE((config.hub_dir / "history.db").stat().st_mode) == 0o600


def test_the_commit_interval_comes_from_the_environment() -> None:
    def interval(value: str | None) -> float:
        env = {} if value is None else {"ETHOS_HUB_HISTORY_COMMIT_SECONDS": value}
        return HubConfig.from_env(env).history_commit_interval

    assert interval(None) == 5.0
    assert interval("30") == 30.0
    assert interval("0") == 0.1  # a commit per change would wear the card out: bounded
    assert interval("86400") == 300.0  # so is what a power cut may cost


async def test_old_rows_are_purged_in_batches_and_recent_ones_kept(tmp_path: Path) -> None:
    config = make_config(tmp_path, history_retention=timedelta(days=1))
    async with running_hub(config) as hub:
        database = hub.recorder.database
        now = datetime.now(UTC)
        old = (now - timedelta(days=2)).timestamp()
        count = HISTORY_PURGE_BATCH * 2 + 7  # three transactions
        await database.async_run(
            database.write, [("sensor.old", str(n), old + n / 1000) for n in range(count)]
        )
        hub.states.async_set("sensor.old", "today")
        await hub.recorder.async_flush()

        assert await hub.recorder.async_purge(now) == count
        assert await hub.recorder.async_purge(now) == 0
        rows = await hub.recorder.async_history("sensor.old", now - timedelta(days=3))
        assert [state for _, state in rows] == ["today"]


FULL_DISK = textwrap.dedent(
    """
    import asyncio, json, resource, sys
    from pathlib import Path
    from hub.core.config import HubConfig
    from hub.core.hub import Hub
    from hub.core.models import DeviceInfo

    async def main():
        config = HubConfig(data_dir=Path(sys.argv[1]), integrations=(),
                           history_commit_interval=3600)
        hub = Hub(config)
        await hub.async_start()
        hub.states.async_set("sensor.before", "committed")
        await hub.recorder.async_flush()
        await hub.devices.async_get_or_create(DeviceInfo(identifiers=(("t", "d0"),)))
        await hub.storage.async_flush()

        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, hard))  # the disk is full now
        for n in range(300):
            hub.states.async_set(f"sensor.s{n % 30}", str(n))
            await hub.devices.async_get_or_create(
                DeviceInfo(identifiers=(("t", f"device-{n}"),), name="x" * 100))
        history_written = await hub.recorder.async_flush()
        await hub.storage.async_flush()
        while_full = {
            "history_written": history_written,
            "problems": sorted(hub.write_problems.messages()),
            "running": hub.state,
            "live_state": hub.states.get("sensor.s29").state,
            "history": [s for _, s in await hub.recorder.async_history(
                "sensor.before", hub.states.get("sensor.before").last_updated)],
        }
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space was freed
        await hub.async_stop()  # writes what waited
        print(json.dumps({"while_full": while_full, "after": hub.write_problems.messages()}))

    asyncio.run(main())
    """
)


async def test_a_full_disk_loses_nothing_and_the_hub_says_so(tmp_path: Path) -> None:
    ran = run_python_code(FULL_DISK, str(tmp_path))
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    while_full = result["while_full"]
    assert while_full["history_written"] is False
    assert while_full["problems"] == [
        "cannot write core.device_registry.json: File too large",
        "cannot write the state history: disk I/O error",
    ]
    assert "changes are kept in memory" in ran.stderr
    assert while_full["running"] == "running"
    assert while_full["live_state"] == "299"
    assert while_full["history"] == ["committed"]  # what was committed is still there
    assert result["after"] == []

    async with running_hub(make_config(tmp_path)) as hub:
        assert len(hub.devices.async_all()) == 301
        start = datetime.now(UTC) - timedelta(hours=1)
        assert [s for _, s in await hub.recorder.async_history("sensor.s29", start)] == [
            str(n) for n in range(29, 300, 30)
        ]
