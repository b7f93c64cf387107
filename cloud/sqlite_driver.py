"""SQLite through aiosqlite with one trip to its thread per statement.

aiosqlite runs every call on the connection in its own thread, and SQLAlchemy's adapter
makes four such calls for a statement (open a cursor, execute, fetch the rows, close the
cursor). Each trip hands the GIL to that thread and back: on the store's checkout and
webhook paths these hand-offs cost more CPU than SQLite's own work. Here a statement is one
function run in the thread (cursor, execute, fetch, close), which returns what the adapter
used to ask for call by call: the rows, the description, the row count and the last row id.

Transactions, commits, rollbacks, isolation and server-side cursors are aiosqlite's and
SQLAlchemy's as before; only the plain cursor changes.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

_LOGGER = logging.getLogger(__name__)


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
    """Run one statement on `connection` (in aiosqlite's thread) and read all it returns."""
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


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement is a single call into aiosqlite's thread."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No cursor is opened here (the base class opens one in the thread).
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
            outcome: StatementOutcome = await connection._execute(
                run_statement, connection._conn, operation, parameters, many
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
        if not self._nothing_to_end():
            super().commit()


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module given to SQLAlchemy (`create_async_engine(…, module=…)`)."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDbapi:
    return OneTripDbapi(aiosqlite, sqlite3)
