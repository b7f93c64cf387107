"""`async_run`: statements on the DBAPI cursor store and read exactly what SQLAlchemy does.

Each test runs the same statement both ways on the same database (SQLite here, PostgreSQL
with --e2e) and compares what was stored, byte for byte as the database keeps it, and what
came back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud import db
from cloud.db_statements import async_run, insert_into
from cloud.inventory.models import StockUnit
from tests.conftest import DatabaseTarget
from tests.support.databases import async_execute

_METADATA = MetaData()
_ITEMS = Table(
    "direct_items",
    _METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String(32), nullable=False, unique=True),
    Column("at", db.UTCDateTime, nullable=False),
    Column("amount", Numeric(20, 8)),
    Column("flag", Boolean, nullable=False),
    Column("note", Text),
    # A default SQLAlchemy fills in Python: such a statement is left to SQLAlchemy.
    Column("tries", Integer, nullable=False, default=3),
)
_BY_NAME = select(_ITEMS.c.name, _ITEMS.c.at, _ITEMS.c.amount, _ITEMS.c.flag, _ITEMS.c.note).where(
    _ITEMS.c.name == bindparam("b_name")
)
_RENAME = (
    update(_ITEMS)
    .where(_ITEMS.c.flag.is_(True), _ITEMS.c.at < bindparam("b_before"))
    .values(note=bindparam("b_note"), at=bindparam("b_now"))
)
_STORED = text(
    "SELECT name, CAST(at AS TEXT), CAST(amount AS TEXT), flag, note, tries "
    "FROM direct_items ORDER BY name"
)
_AT = datetime(2026, 12, 7, 4, 5, 6, 789012, tzinfo=UTC)


def _row(name: str, **changes: Any) -> dict[str, Any]:
    values = {
        "name": name,
        "at": _AT,
        "amount": Decimal("0.00012345"),
        "flag": True,
        "note": None,
        "tries": 1,
    }
    return {**values, **changes}


@pytest.fixture
async def sessions(database: DatabaseTarget) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database.url, database.schema)
    async with engine.begin() as connection:
        await connection.run_sync(_METADATA.create_all)
    try:
        yield db.session_factory(engine)
    finally:
        await engine.dispose()


async def _stored(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        return [tuple(row) for row in await session.execute(_STORED)]


async def test_rows_are_stored_as_sqlalchemy_stores_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    mine = [_row("direct-1"), _row("direct-2", amount=None, flag=False, note="ünïcode")]
    theirs = [_row("orm-1"), _row("orm-2", amount=None, flag=False, note="ünïcode")]
    async with sessions() as session, session.begin():
        await async_run(session, insert_into(_ITEMS), mine)
        await session.execute(insert(_ITEMS), theirs)
    stored = await _stored(sessions)
    direct = [row[1:] for row in stored if row[0].startswith("direct")]
    orm = [row[1:] for row in stored if row[0].startswith("orm")]
    assert direct == orm and len(direct) == 2
    assert direct[1][3] == "ünïcode"


async def test_rows_read_back_with_their_types(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await session.execute(insert(_ITEMS), [_row("a"), _row("b", amount=None, note="n")])
    async with sessions() as session:
        for name in ("a", "b", "missing"):
            direct = (await async_run(session, _BY_NAME, {"b_name": name})).rows
            orm = [tuple(row) for row in await session.execute(_BY_NAME, {"b_name": name})]
            assert direct == orm
        found = (await async_run(session, _BY_NAME, {"b_name": "a"})).first()
    assert found == ("a", _AT, Decimal("0.00012345"), True, None)
    assert found is not None and found[1].tzinfo == UTC and isinstance(found[2], Decimal)


async def test_an_update_counts_its_rows_and_writes_what_sqlalchemy_would(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    rows = [_row(f"u-{n}", flag=n % 2 == 0, at=_AT - timedelta(days=n)) for n in range(5)]
    async with sessions() as session, session.begin():
        await session.execute(insert(_ITEMS), rows)
    later = _AT + timedelta(hours=1)
    async with sessions() as session, session.begin():
        changes = {"b_before": _AT - timedelta(hours=1), "b_note": "moved", "b_now": later}
        result = await async_run(session, _RENAME, changes)
        none = await async_run(session, _RENAME, {**changes, "b_before": _AT - timedelta(days=9)})
    assert (result.rowcount, none.rowcount) == (2, 0)  # u-2 and u-4; u-0 is not before
    direct = await _stored(sessions)
    async with sessions() as session, session.begin():
        await session.execute(insert(_ITEMS), [_row("orm-ref", at=later, note="moved")])
    reference = next(row for row in await _stored(sessions) if row[0] == "orm-ref")
    moved = [row for row in direct if row[4] == "moved"]
    assert [row[0] for row in moved] == ["u-2", "u-4"]
    assert {row[1] for row in moved} == {reference[1]}  # the timestamp stored alike


async def test_a_duplicate_is_sqlalchemys_integrity_error_and_nothing_stays(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        await async_run(session, insert_into(_ITEMS), [_row("taken")])
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await async_run(session, insert_into(_ITEMS), [_row("new")])
            await async_run(session, insert_into(_ITEMS), [_row("taken")])
    assert [row[0] for row in await _stored(sessions)] == ["taken"]
    # The connection is fine afterwards.
    async with sessions() as session, session.begin():
        await async_run(session, insert_into(_ITEMS), [_row("after")])
    assert [row[0] for row in await _stored(sessions)] == ["after", "taken"]


async def test_statements_it_cannot_run_exactly_are_run_by_sqlalchemy(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    without_tries = {key: value for key, value in _row("defaulted").items() if key != "tries"}
    in_list = select(_ITEMS.c.name).where(_ITEMS.c.name.in_(bindparam("b_names", expanding=True)))
    async with sessions() as session, session.begin():
        await async_run(session, insert_into(_ITEMS), [without_tries])
        picked = await async_run(session, in_list, {"b_names": ["defaulted", "other"]})
    assert picked.rows == [("defaulted",)]
    assert [row[5] for row in await _stored(sessions)] == [3]  # the Python-side default


async def test_it_runs_in_the_sessions_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        async with session.begin():
            await async_run(session, insert_into(_ITEMS), [_row("kept")])
        transaction = await session.begin()
        await async_run(session, insert_into(_ITEMS), [_row("rolled-back")])
        assert (await async_run(session, _BY_NAME, {"b_name": "rolled-back"})).rows
        await transaction.rollback()
    assert [row[0] for row in await _stored(sessions)] == ["kept"]


async def test_a_missing_parameter_is_refused_before_the_database_sees_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        with pytest.raises(Exception, match="b_name"):
            await async_run(session, _BY_NAME, {"b_other": "x"})


async def test_stock_writes_stay_with_sqlalchemy(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # StockCounts follows stock writes through SQLAlchemy's cursor events.
    units: Table = StockUnit.__table__  # type: ignore[attr-defined]
    async with sessions() as session:
        with pytest.raises(ValueError, match="stock_units"):
            await async_run(session, update(units).values(order_id=None), {})


@pytest.mark.e2e_only
async def test_a_connection_the_server_dropped_is_invalidated_and_not_lent_again(
    sessions: async_sessionmaker[AsyncSession], database: DatabaseTarget
) -> None:
    async with sessions() as session:
        backend = (await async_run(session, select(func.pg_backend_pid()), {})).scalar()
        await async_execute(database.url, f"SELECT pg_terminate_backend({int(backend)})")
        with pytest.raises(DBAPIError) as caught:
            await async_run(session, _BY_NAME, {"b_name": "missing"})
        assert caught.value.connection_invalidated
    async with sessions() as session:
        assert (await async_run(session, _BY_NAME, {"b_name": "missing"})).rows == []
        again = (await async_run(session, select(func.pg_backend_pid()), {})).scalar()
    assert again != backend
