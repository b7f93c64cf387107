"""SQLite under SQLAlchemy's asyncio API, statements run in the event loop's own thread.

aiosqlite runs every call on the connection in its own thread, and SQLAlchemy's adapter
makes four such calls for a statement (open a cursor, execute, fetch the rows, close the
cursor). Each trip hands the GIL to that thread and back and wakes the loop: about 0.13 ms
of CPU a statement, several times SQLite's own work for the store's short statements (an
indexed read or a one-row write, microseconds, from memory: nothing is flushed before
COMMIT). So a statement runs where it is awaited, in one call (cursor, execute, fetch,
close) that returns what the adapter used to ask for call by call: the rows, the
description, the row count and the last row id.

Two things can make SQLite wait, and neither may stop the event loop: COMMIT flushes the
write-ahead log to disk, and a statement may find the database locked by another process (a
migration, a stock import from the command line). The connection's busy timeout is 0, so
such a statement fails at once without changing anything; it is then run again in
aiosqlite's thread, waiting up to `LOCK_WAIT_MS` for the lock as before. Commits always go
to that thread, with the same wait. Only one statement of the connection runs at a time
(the adapter's mutex), whichever thread runs it.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")

# How long a statement or commit that finds the database locked waits for it (in aiosqlite's
# thread), as `sqlite3.connect(timeout=30)` did.
LOCK_WAIT_MS = 30_000
# The connection's own busy timeout: a locked database fails a statement at once.
NO_WAIT = "PRAGMA busy_timeout=0"


@dataclass(frozen=True, slots=True)
class StatementOutcome:
    """What a DBAPI cursor tells about the statement it ran."""

    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any]


def run_statement(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> StatementOutcome:
    """Run one statement on `connection` and read all it returns (in the loop's thread;
    in aiosqlite's, through `run_statement_waiting`, when it must wait for a lock)."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        # Rows first: with RETURNING, sqlite3 counts the rows once they are all read.
        rows = cursor.fetchall() if description else []
        return StatementOutcome(description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


def _waiting(connection: sqlite3.Connection, call: Callable[[], _T]) -> _T:
    """`call()` with the busy timeout raised to `LOCK_WAIT_MS` (in aiosqlite's thread)."""
    connection.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
    try:
        return call()
    finally:
        connection.execute(NO_WAIT)


def run_statement_waiting(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> StatementOutcome:
    return _waiting(connection, lambda: run_statement(connection, operation, parameters, many))


def commit_waiting(connection: sqlite3.Connection) -> None:
    _waiting(connection, connection.commit)


def _locked(err: sqlite3.OperationalError) -> bool:
    # SQLITE_BUSY and its extended codes (the low byte is the primary code).
    return (getattr(err, "sqlite_errorcode", 0) or 0) & 0xFF == sqlite3.SQLITE_BUSY


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement is one call, run where it is awaited."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No cursor is opened here (the base class opens one through aiosqlite's thread).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int | None:  # type: ignore[override]
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return None  # nothing stays open in the thread

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        return await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            try:
                outcome = run_statement(connection._conn, operation, parameters, many)
            except sqlite3.OperationalError as err:
                if not _locked(err):
                    raise
                # Another process holds the lock: wait for it off the event loop.
                outcome = await connection._execute(
                    run_statement_waiting, connection._conn, operation, parameters, many
                )
        self._description = outcome.description
        self._rowcount = outcome.rowcount
        self._lastrowid = outcome.lastrowid
        self._rows = collections.deque(outcome.rows)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """aiosqlite's adapted connection, handing out one-trip cursors.

    A commit or rollback with no transaction open is a no-op in sqlite3 itself; it is not
    sent to the thread at all (every session's close and the pool's check-in roll back,
    and most of the store's reads open no transaction in SQLite).
    """

    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # (a subclass: mypy reads it invariant)

    def _nothing_to_end(self) -> bool:
        raw: sqlite3.Connection | None = self._connection._connection
        # Read while no statement of this connection runs (SQLAlchemy uses one at a time).
        return raw is not None and not raw.in_transaction

    def rollback(self) -> None:
        if not self._nothing_to_end():
            super().rollback()

    def commit(self) -> None:
        if self._nothing_to_end():
            return
        # In aiosqlite's thread: COMMIT flushes to disk, and may wait for a lock.
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        try:
            await_(connection._execute(commit_waiting, connection._conn))
        except Exception as error:
            self._handle_exception(error)


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module given to SQLAlchemy (`create_async_engine(…, module=…)`)."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        # What running statements here needs of the connection: usable from the loop's
        # thread as well as aiosqlite's (never both at once), and a busy timeout of 0.
        kw.update(check_same_thread=False, timeout=0)
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDbapi:
    return OneTripDbapi(aiosqlite, sqlite3)
