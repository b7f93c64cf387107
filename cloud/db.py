"""Database access for the cloud: async engine, sessions, UTC timestamps and migrations.

SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg) comes through
``DATABASE_URL``. The schema is owned by Alembic (``cloud/migrations``); the models in
each area are SQLModel classes registered on one metadata.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import DateTime, Table, event
from sqlalchemy.engine import CursorResult, Dialect, Result
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from cloud.db_statements import async_run, insert_into

_LOGGER = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite has no time zones: keep naive UTC there, aware everywhere else.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def create_engine(url: str, schema: str | None = None) -> AsyncEngine:
    """Create the async engine; `schema` selects a PostgreSQL schema (tests, tenants)."""
    kwargs: dict[str, Any] = {"pool_pre_ping": not url.startswith("sqlite")}
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        # SQLite has one writer at a time; with several connections, a writer that finds
        # the file locked sleeps in SQLite's busy handler (1 ms, 2 ms … 100 ms). One shared
        # connection queues work in the event loop instead, with no sleeping.
        kwargs.update(pool_size=1, max_overflow=0)
        # Statements in the loop's thread, not four trips to aiosqlite's (sqlite_driver.py).
        from cloud.sqlite_driver import one_trip_dbapi

        kwargs["module"] = one_trip_dbapi()
    elif schema:
        kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(connection: Any = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def async_upgrade_to_head(engine: AsyncEngine) -> None:
    """Apply every migration that is missing (all branches: `heads`)."""
    from alembic import command

    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "heads"))
    _LOGGER.info("database schema is at head")


async def async_current_revisions(engine: AsyncEngine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as connection:
        return set(
            await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_heads()
            )
        )


def head_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(_alembic_config()).get_heads())


def affected_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched (`execute` is typed as returning a plain
    `Result`; for those statements it is a `CursorResult`, which counts them)."""
    return cast("CursorResult[Any]", result).rowcount


def row_values(model: type[SQLModel], **values: Any) -> dict[str, Any]:
    """The values `model(**values)` would hold, without building the instance: each field
    not given takes the model's default (its factory called), as a table model's
    constructor does (it does not validate either). For hot paths, with `insert_values`:
    a table model's constructor sets its fields one by one through SQLAlchemy's
    instrumentation, which cost more than its INSERT."""
    for name, default in _defaults(model):
        if name not in values:
            values[name] = default()
    return values


@functools.cache
def _defaults(model: type[SQLModel]) -> tuple[tuple[str, Callable[[], Any]], ...]:
    """Each field's default maker: its factory itself where it takes no argument (asking
    pydantic for the default inspects the factory's signature on every call)."""
    makers: list[tuple[str, Callable[[], Any]]] = []
    for name, field in model.model_fields.items():
        factory = field.default_factory
        if factory is not None and not field.default_factory_takes_validated_data:
            makers.append((name, cast("Callable[[], Any]", factory)))
        else:
            makers.append((name, functools.partial(field.get_default, call_default_factory=True)))
    return tuple(makers)


async def insert_values(
    session: AsyncSession, model: type[SQLModel], *rows: dict[str, Any]
) -> None:
    """INSERT `row_values` rows of one model in one statement (see `insert_rows`)."""
    table = cast(Table, model.__table__)  # type: ignore[attr-defined]
    values_list = [
        {key: value for key, value in row.items() if key != "id" or value is not None}
        for row in rows
    ]
    await async_run(session, insert_into(table), values_list)


async def insert_rows(session: AsyncSession, *rows: SQLModel) -> None:
    """INSERT model rows as plain Core statements in the session's transaction.

    For hot paths that never read the rows back: the ORM's unit of work (identity map,
    flush planning, per-attribute events) costs more than the INSERT itself, and so does
    SQLAlchemy's execution of it (`cloud.db_statements`). Rows of one table go in one
    executemany; an unset autoincrement `id` is left to the database.
    """
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for row in rows:
        values = row.model_dump()
        if values.get("id", 0) is None:
            del values["id"]
        by_table.setdefault(cast(Table, type(row).__table__), []).append(values)  # type: ignore[attr-defined]
    for table, values_list in by_table.items():
        await async_run(session, insert_into(table), values_list)
