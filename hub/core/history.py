"""Recorder: buffers state changes, commits them in batches, answers history queries and
purges old rows in small batches.

A batch that cannot be written (a full disk) goes back to the front of the buffer and is
tried again at the next commit; the hub says so (``WriteProblems``) and keeps running.
Nothing changes, nothing is written.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ethos.tasks import async_cancel_and_wait
from hub.const import (
    EVENT_STATE_CHANGED,
    HISTORY_FILE,
    HISTORY_MAX_PENDING,
    HISTORY_PURGE_BATCH,
    HISTORY_PURGE_INTERVAL_S,
)
from hub.core.callback import callback
from hub.core.events import Event
from hub.core.history_db import HistoryDatabase, Row

if TYPE_CHECKING:
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)
PROBLEM_SOURCE = "the state history"


class Recorder:
    """Buffers (entity_id, state, time) rows and commits them from the history thread."""

    def __init__(
        self,
        hub: Hub,
        retention: timedelta,
        commit_interval: float,
        max_pending: int = HISTORY_MAX_PENDING,
    ) -> None:
        self._hub = hub
        self.database = HistoryDatabase(hub.config.hub_dir / HISTORY_FILE)
        self.retention = retention
        self.commit_interval = commit_interval
        self._max_pending = max_pending
        self._pending: list[Row] = []
        self._flush_lock = asyncio.Lock()
        self.dropped = 0
        self.recorded = 0
        self._unsub: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def async_open(self) -> None:
        await self.database.async_run(self.database.open)

    @callback
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
            await asyncio.sleep(self.commit_interval)
            await self.async_flush()
            if loop.time() >= next_purge:
                try:
                    await self.async_purge()
                except sqlite3.Error as err:
                    self._hub.write_problems.report(PROBLEM_SOURCE, err)
                next_purge = loop.time() + HISTORY_PURGE_INTERVAL_S

    async def async_flush(self) -> bool:
        """Commit what is buffered; False when it could not be written (it stays buffered)."""
        async with self._flush_lock:
            if not self._pending:
                return True
            rows, self._pending = self._pending, []
            try:
                await self.database.async_run(self.database.write, rows)
            except sqlite3.Error as err:
                self._hub.write_problems.report(PROBLEM_SOURCE, err)
                self._requeue(rows)
                return False
            self._hub.write_problems.resolve(PROBLEM_SOURCE)
            self.recorded += len(rows)
            return True

    def _requeue(self, rows: list[Row]) -> None:
        """Put a batch that failed back in front, keeping the newest ``max_pending`` rows."""
        pending = rows + self._pending
        overflow = len(pending) - self._max_pending
        if overflow > 0:
            self.dropped += overflow
            pending = pending[overflow:]
        self._pending = pending

    async def async_purge(self, now: datetime | None = None) -> int:
        """Delete rows older than the retention window, a batch per transaction; how many."""
        cutoff = ((now or datetime.now(UTC)) - self.retention).timestamp()
        removed = 0
        while True:
            batch = await self.database.async_run(
                self.database.purge_batch, cutoff, HISTORY_PURGE_BATCH
            )
            removed += batch
            if batch < HISTORY_PURGE_BATCH:
                break
        if removed:
            _LOGGER.info("Purged %s history rows older than %s", removed, self.retention)
        return removed

    async def async_history(
        self, entity_id: str, start: datetime, end: datetime | None = None
    ) -> list[tuple[datetime, str]]:
        """States of one entity in [start, end], led by the last state before start."""
        await self.async_flush()
        end = end or datetime.now(UTC)
        rows = await self.database.async_run(
            self.database.states_between, entity_id, start.timestamp(), end.timestamp()
        )
        return [(datetime.fromtimestamp(ts, UTC), state) for ts, state in rows]

    async def async_history_many(
        self, entity_ids: list[str], start: datetime, end: datetime | None = None
    ) -> dict[str, list[tuple[float, str]]]:
        """``async_history`` of several entities at once (one flush, one database job),
        times as UTC epoch seconds: a page drawing many sparklines skips making datetimes."""
        if not entity_ids:
            return {}
        await self.async_flush()
        end = end or datetime.now(UTC)
        return await self.database.async_run(
            self.database.states_between_many, entity_ids, start.timestamp(), end.timestamp()
        )

    async def async_stop(self) -> None:
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        await async_cancel_and_wait(self._task)
        self._task = None
        await self.async_flush()
        await self.database.async_close()
