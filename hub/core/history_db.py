"""The state history database: SQLite through the standard library, one connection, used
only from one writer thread so the event loop never waits on the disk.

Rows are small (an entity number, a time, a state) and reach the disk in batches; an index
on (entity, time) answers charts and one on time answers the purge. The schema version is
SQLite's ``user_version``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from hub.core.storage import DocumentTooNew

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
Row = tuple[str, str, float]  # entity_id, state, UTC epoch seconds

SCHEMA_VERSION = 1
SCHEMA = (
    "CREATE TABLE entities (id INTEGER PRIMARY KEY, entity_id TEXT NOT NULL UNIQUE)",
    "CREATE TABLE states (entity INTEGER NOT NULL, ts REAL NOT NULL, state TEXT NOT NULL)",
    "CREATE INDEX states_entity_ts ON states (entity, ts)",
    "CREATE INDEX states_ts ON states (ts)",
)


class HistoryDatabase:
    """Opens, writes, purges and reads the history file, all in its own thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-history")
        self._conn: sqlite3.Connection | None = None
        self._entity_refs: dict[str, int] = {}  # touched only in the history thread

    async def async_run(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("history database is not open")
        return self._conn

    def open(self) -> None:
        """Open (and create) the database. Blocking: call through ``async_run``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Who was home when: readable by the hub's user only (SQLite gives its WAL the same).
        os.close(os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o600))
        conn = sqlite3.connect(self.path, isolation_level=None)  # transactions by hand
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise DocumentTooNew(
                    f"{self.path} was written by a newer version of the hub (schema "
                    f"{version}, this hub reads up to {SCHEMA_VERSION})"
                )
            conn.execute("PRAGMA journal_mode=WAL")
            # A power cut may lose the last commits, never the database's consistency.
            conn.execute("PRAGMA synchronous=NORMAL")
            if version == 0:
                with transaction(conn):
                    for statement in SCHEMA:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._entity_refs = self._read_entity_refs()

    def write(self, rows: Iterable[Row]) -> None:
        """One transaction for the batch; on failure nothing of it is written."""
        conn = self.conn
        try:
            with transaction(conn):
                values = [(self._entity_ref(e), ts, state) for e, state, ts in rows]
                conn.executemany("INSERT INTO states (entity, ts, state) VALUES (?, ?, ?)", values)
        except sqlite3.Error:
            # Entities first named in this batch were rolled back with it.
            self._entity_refs = self._read_entity_refs()
            raise

    def _entity_ref(self, entity_id: str) -> int:
        ref = self._entity_refs.get(entity_id)
        if ref is None:
            cursor = self.conn.execute("INSERT INTO entities (entity_id) VALUES (?)", (entity_id,))
            ref = self._entity_refs[entity_id] = int(cursor.lastrowid or 0)
        return ref

    def _read_entity_refs(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT entity_id, id FROM entities"))

    def purge_batch(self, cutoff: float, limit: int) -> int:
        """Delete up to ``limit`` rows older than ``cutoff``; nothing is written when none are."""
        conn = self.conn
        if conn.execute("SELECT 1 FROM states WHERE ts < ? LIMIT 1", (cutoff,)).fetchone() is None:
            return 0
        with transaction(conn):
            cursor = conn.execute(
                "DELETE FROM states WHERE rowid IN "
                "(SELECT rowid FROM states WHERE ts < ? ORDER BY ts LIMIT ?)",
                (cutoff, limit),
            )
        return cursor.rowcount

    def states_between(self, entity_id: str, start: float, end: float) -> list[tuple[float, str]]:
        """States of one entity in [start, end], led by the last one before start."""
        ref = self._entity_refs.get(entity_id)
        if ref is None:
            return []
        before = self.conn.execute(
            "SELECT ts, state FROM states WHERE entity = ? AND ts < ? ORDER BY ts DESC LIMIT 1",
            (ref, start),
        ).fetchall()
        during = self.conn.execute(
            "SELECT ts, state FROM states WHERE entity = ? AND ts >= ? AND ts <= ? ORDER BY ts",
            (ref, start, end),
        ).fetchall()
        return [*before, *during]

    def states_between_many(
        self, entity_ids: Iterable[str], start: float, end: float
    ) -> dict[str, list[tuple[float, str]]]:
        """``states_between`` for several entities in one trip to the history thread."""
        return {e: self.states_between(e, start, end) for e in entity_ids}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def async_close(self) -> None:
        await self.async_run(self.close)
        self._executor.shutdown(wait=True)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN ... COMMIT, or ROLLBACK when the block (or the commit itself) fails."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
