"""Hot statements run straight on the session's DBAPI cursor, compiled once per dialect.

Executing a Core statement through SQLAlchemy costs about 0.1 ms of CPU outside the
database: a cache key, the parameters' processing, an execution context, the result's
metadata, events. A webhook delivery runs a dozen short statements, and that overhead was
the largest part of its CPU time. `async_run` compiles a statement once per dialect and set
of parameter names; a run then only orders the parameters, converts them with the column
types' own bind processors (what SQLAlchemy would send), and runs them on the session's
connection, inside its transaction. Rows come back as plain tuples, converted by the
types' result processors: Core statements only (an ORM entity's SELECT would come back as
its columns, not as objects).

A statement this cannot run exactly as SQLAlchemy would (Python-side defaults or
`onupdate` values to fill, expanding `IN` parameters, values rendered at execution, a
dialect whose parameters are not positional) is handed to SQLAlchemy as usual: the same
answer at the usual cost. Engine cursor events do not see these statements, so statements
that write `stock_units` (which `StockCounts` follows through those events) must not come
here: `async_run` refuses them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, exc, insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.dml import UpdateBase

_LOGGER = logging.getLogger(__name__)

# Written only through SQLAlchemy: engine cursor events follow their writes.
EVENT_WATCHED_TABLES = frozenset({"stock_units"})

Parameters = Mapping[str, Any]
Converter = Callable[[Any], Any]


class StatementResult:
    """What a statement returned: its rows (tuples) and the rows it matched."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def first(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


@dataclass(slots=True)
class _Plan:
    """A statement compiled for one dialect and one set of parameter names."""

    sql: str
    # Each positional parameter: its key, its value when the caller gives none, converter.
    binds: tuple[tuple[str, Any, Converter | None], ...]
    column_types: tuple[Any, ...]
    # The result converters, by the column type codes the driver reports.
    converters: dict[tuple[Any, ...], tuple[Converter | None, ...]] = field(default_factory=dict)

    def values(self, parameters: Parameters) -> tuple[Any, ...]:
        out = []
        for key, default, convert in self.binds:
            value = parameters.get(key, default)
            if value is _REQUIRED:
                raise exc.ArgumentError(f"A value is required for bind parameter {key!r}")
            out.append(convert(value) if convert is not None else value)
        return tuple(out)

    def result_converters(
        self, description: Sequence[Any], dialect: Dialect
    ) -> tuple[Converter | None, ...]:
        type_codes = tuple(column[1] for column in description)
        known = self.converters.get(type_codes)
        if known is None:
            known = self.converters[type_codes] = tuple(
                sql_type.dialect_impl(dialect).result_processor(dialect, type_code)
                for sql_type, type_code in zip(self.column_types, type_codes, strict=True)
            )
        return known


_REQUIRED = object()
# Statements are built once (module constants, one INSERT per table), so few plans exist;
# the bound only keeps a caller that builds statements per call from growing it forever.
MAX_PLANS = 1024
_PlanKey = tuple[Executable, str, str, tuple[str, ...]]
# (statement, dialect, driver, parameter names) -> plan, or None: SQLAlchemy runs it.
_PLANS: dict[_PlanKey, _Plan | None] = {}
_INSERTS: dict[Table, Executable] = {}


def insert_into(table: Table) -> Executable:
    """The INSERT of `table` (one object per table, so its plans are reused)."""
    statement = _INSERTS.get(table)
    if statement is None:
        statement = _INSERTS[table] = insert(table)
    return statement


async def async_run(
    session: AsyncSession, statement: Executable, parameters: Parameters | Sequence[Parameters]
) -> StatementResult:
    """Run `statement` in the session's transaction (a sequence of parameter sets: one
    executemany, which returns no rows)."""
    many = not isinstance(parameters, Mapping)
    rows = list(cast(Sequence[Parameters], parameters)) if many else [cast(Parameters, parameters)]
    if not rows:
        return StatementResult([], 0)
    return await session.run_sync(_run, statement, rows, many)


def _run(
    session: Session, statement: Executable, rows: list[Parameters], many: bool
) -> StatementResult:
    if session.autoflush:
        session.flush()  # as session.execute would: pending ORM changes go first (if any)
    connection = session.connection()
    plan = _plan_for(statement, connection.dialect, tuple(sorted(rows[0])))
    if plan is None:
        return _run_by_sqlalchemy(connection, statement, rows, many)
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    values = [plan.values(row) for row in rows]
    cursor = dbapi_connection.cursor()
    try:
        if many:
            cursor.executemany(plan.sql, values)
        else:
            cursor.execute(plan.sql, values[0])
        description = cursor.description
        raw_rows = cursor.fetchall() if description else []
        rowcount = cursor.rowcount
    except connection.dialect.loaded_dbapi.Error as err:
        raise _wrapped(connection, dbapi_connection, plan.sql, values, err, cursor) from err
    finally:
        cursor.close()
    if not raw_rows:
        return StatementResult([], rowcount)
    converters = plan.result_converters(description, connection.dialect)
    if not any(converters):
        return StatementResult([tuple(row) for row in raw_rows], rowcount)
    return StatementResult(
        [
            tuple(
                convert(value) if convert is not None else value
                for convert, value in zip(converters, row, strict=True)
            )
            for row in raw_rows
        ],
        rowcount,
    )


def _wrapped(
    connection: Connection,
    dbapi_connection: Any,
    sql: str,
    values: list[tuple[Any, ...]],
    err: Exception,
    cursor: Any,
) -> BaseException:
    """The DBAPI error as SQLAlchemy raises it (IntegrityError …); a lost connection is
    invalidated, so the pool never lends it again."""
    dialect = connection.dialect
    lost = dialect.is_disconnect(cast(Any, err), dbapi_connection, cursor)
    if lost:
        connection.invalidate(err)
    return exc.DBAPIError.instance(
        sql,
        values if len(values) > 1 else values[0],
        err,
        dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=dialect,
        ismulti=len(values) > 1,
    )


def _run_by_sqlalchemy(
    connection: Connection, statement: Executable, rows: list[Parameters], many: bool
) -> StatementResult:
    result = connection.execute(statement, [dict(row) for row in rows] if many else dict(rows[0]))
    found = [tuple(row) for row in result.all()] if result.returns_rows else []
    return StatementResult(found, result.rowcount)  # type: ignore[attr-defined]


def _plan_for(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Plan | None:
    cache_key = (statement, dialect.name, dialect.driver, keys)
    try:
        return _PLANS[cache_key]
    except KeyError:
        if len(_PLANS) >= MAX_PLANS:
            _LOGGER.warning("%d statement plans: statements are being built per call", MAX_PLANS)
            _PLANS.clear()
        plan = _PLANS[cache_key] = _compile(statement, dialect, keys)
        if plan is None:
            _LOGGER.debug("statement left to SQLAlchemy: %s", statement)
        return plan


def _compile(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Plan | None:
    written = getattr(statement.table, "name", None) if isinstance(statement, UpdateBase) else None
    if written in EVENT_WATCHED_TABLES:
        raise ValueError(f"{written} is written through SQLAlchemy only")
    compiled: Any = cast(ClauseElement, statement).compile(dialect=dialect, column_keys=list(keys))
    if (
        compiled.positiontup is None
        or compiled.insert_prefetch
        or compiled.update_prefetch
        or "POSTCOMPILE" in compiled.string
        or any(bind.expanding for bind in compiled.binds.values())
    ):
        return None
    binds = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        default = _REQUIRED if bind.key in keys or bind.required else bind.effective_value
        binds.append((bind.key, default, bind.type.dialect_impl(dialect).bind_processor(dialect)))
    columns = getattr(statement, "exported_columns", ())
    return _Plan(compiled.string, tuple(binds), tuple(column.type for column in columns))
