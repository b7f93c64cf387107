"""Recorder: writes state changes to SQLite in batches, answers history queries, purges old rows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import text

from ethos.tasks import async_cancel_and_wait
from hub.const import (
    EVENT_STATE_CHANGED,
    HISTORY_COMMIT_INTERVAL_S,
    HISTORY_MAX_PENDING,
    HISTORY_PURGE_INTERVAL_S,
)
from hub.core.events import Event

if TYPE_CHECKING:
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)

# Raw DB-API executemany: at tens of thousands of rows per second the ORM would dominate.
_INSERT = "INSERT INTO hub_state_history (entity_id, state, ts) VALUES (?, ?, ?)"


class Recorder:
    """Buffers (entity_id, state, time) rows and commits them from the storage thread."""

    def __init__(
        self,
        hub: Hub,
        retention: timedelta,
        commit_interval: float = HISTORY_COMMIT_INTERVAL_S,
        max_pending: int = HISTORY_MAX_PENDING,
    ) -> None:
        self._hub = hub
        self.retention = retention
        self._commit_interval = commit_interval
        self._max_pending = max_pending
        self._pending: list[tuple[str, str, float]] = []
        self.dropped = 0
        self.recorded = 0
        self._unsub: Callable[[], None] | None = None
        self._task: asyncio.Task | None = None

    def async_start(self) -> None:
        self._unsub = self._hub.bus.async_listen(EVENT_STATE_CHANGED, self._on_state_changed)
        self._task = asyncio.get_running_loop().create_task(self._async_run(), name="recorder")

    def _on_state_changed(self, event: Event) -> None:
        new = event.data["new_state"]
        if new is None:
            return
        old = event.data["old_state"]
        if old is not None and old.state == new.state:
            return  # attribute-only change: history charts states
        if len(self._pending) >= self._max_pending:
            self.dropped += 1  # memory stays bounded if the disk cannot keep up
            return
        self._pending.append((new.entity_id, new.state, new.last_updated.timestamp()))

    async def _async_run(self) -> None:
        next_purge = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._commit_interval)
            try:
                await self.async_flush()
                if loop.time() >= next_purge:
                    await self.async_purge()
                    next_purge = loop.time() + HISTORY_PURGE_INTERVAL_S
            except Exception:
                _LOGGER.exception("Recorder commit failed; will retry")

    async def async_flush(self) -> None:
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        await self._hub.storage.async_run(self._write, rows)
        self.recorded += len(rows)

    def _write(self, rows: list[tuple[str, str, float]]) -> None:
        raw = self._hub.storage.engine.raw_connection()
        try:
            raw.cursor().executemany(_INSERT, rows)
            raw.commit()
        finally:
            raw.close()

    async def async_purge(self, now: datetime | None = None) -> int:
        """Delete rows older than the retention window; return how many went."""
        cutoff = ((now or datetime.now(UTC)) - self.retention).timestamp()

        def purge() -> int:
            with self._hub.storage.engine.begin() as conn:
                result = conn.execute(
                    text("DELETE FROM hub_state_history WHERE ts < :cutoff"), {"cutoff": cutoff}
                )
                return int(result.rowcount or 0)

        removed = await self._hub.storage.async_run(purge)
        if removed:
            _LOGGER.info("Purged %s history rows older than %s", removed, self.retention)
        return removed

    async def async_history(
        self, entity_id: str, start: datetime, end: datetime | None = None
    ) -> list[tuple[datetime, str]]:
        """States of one entity in [start, end], led by the last state before start."""
        await self.async_flush()
        end = end or datetime.now(UTC)

        def query() -> list[tuple[float, str]]:
            with self._hub.storage.engine.connect() as conn:
                before = conn.execute(
                    text(
                        "SELECT ts, state FROM hub_state_history WHERE entity_id = :e "
                        "AND ts < :s ORDER BY ts DESC LIMIT 1"
                    ),
                    {"e": entity_id, "s": start.timestamp()},
                ).all()
                during = conn.execute(
                    text(
                        "SELECT ts, state FROM hub_state_history WHERE entity_id = :e "
                        "AND ts >= :s AND ts <= :t ORDER BY ts"
                    ),
                    {"e": entity_id, "s": start.timestamp(), "t": end.timestamp()},
                ).all()
            return [(r[0], r[1]) for r in (*before, *during)]

        rows = await self._hub.storage.async_run(query)
        return [(datetime.fromtimestamp(ts, UTC), state) for ts, state in rows]

    async def async_stop(self) -> None:
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        await async_cancel_and_wait(self._task)
        self._task = None
        await self.async_flush()
