"""The store's SQLite driver: statements in the event loop's thread, commits and waits for
another process's lock in aiosqlite's, same results."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from cloud import db
from cloud.mail.models import OutgoingMail
from cloud.payments.models import ProcessedDelivery


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path}/store.db")
    await db.async_upgrade_to_head(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every call aiosqlite runs in its thread, by name (the real call still runs)."""
    seen: Counter[str] = Counter()
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any) -> Any:
        seen[getattr(fn, "__name__", "?")] += 1
        return await real(self, fn, *args)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen


async def test_a_transaction_of_two_statements_sends_only_its_commit_to_the_thread(
    engine: AsyncEngine, trips: Counter[str]
) -> None:
    sessions = db.session_factory(engine)
    async with sessions() as session, session.begin():
        await db.insert_rows(
            session, OutgoingMail(recipient="a@example.org", subject="S", body="B")
        )
    trips.clear()
    async with sessions() as session, session.begin():
        changed = await session.execute(
            update(OutgoingMail)
            .where(col(OutgoingMail.recipient) == "a@example.org")
            .values(attempts=2)
            .execution_options(synchronize_session=False)
        )
        attempts = list(await session.scalars(select(col(OutgoingMail.attempts))))
    # Before: a cursor, the statement, its rows and closing the cursor were four trips
    # each, and the close's rollback after the commit one more.
    assert trips == Counter({"commit_waiting": 1})
    assert db.affected_rows(changed) == 1 and attempts == [2]


async def test_reads_outside_a_transaction_send_no_rollback(
    engine: AsyncEngine, trips: Counter[str]
) -> None:
    sessions = db.session_factory(engine)
    async with sessions() as session:
        assert await session.get(ProcessedDelivery, "none") is None
    assert trips == Counter()


async def test_rows_counts_ids_and_returning_are_the_drivers(engine: AsyncEngine) -> None:
    table = OutgoingMail.__table__  # type: ignore[attr-defined]
    now = db.utcnow()
    fields = {"subject": "S", "body": "B", "attempts": 0, "created_at": now, "next_attempt_at": now}
    rows = [{"recipient": f"{n}@example.org", **fields} for n in range(3)]
    async with engine.begin() as connection:
        await connection.execute(insert(table), rows)  # executemany
        single = await connection.execute(insert(table).values(recipient="x@example.org", **fields))
        returned = await connection.execute(
            update(table)
            .where(table.c.recipient.in_(bindparam("b_who", expanding=True)))
            .values(attempts=table.c.attempts + 1)
            .returning(table.c.recipient),
            {"b_who": ["0@example.org", "2@example.org"]},
        )
        recipients = sorted(row[0] for row in returned)
        counted = await connection.execute(
            update(table).where(table.c.attempts == 0).values(attempts=5)
        )
        total = await connection.scalar(text("SELECT count(*) FROM outgoing_mail"))
    assert single.inserted_primary_key is not None and single.inserted_primary_key[0] == 4
    assert recipients == ["0@example.org", "2@example.org"]
    assert counted.rowcount == 2 and total == 4


async def test_a_failed_statement_rolls_the_whole_transaction_back(engine: AsyncEngine) -> None:
    sessions = db.session_factory(engine)
    async with sessions() as session, session.begin():
        await db.insert_rows(session, ProcessedDelivery(delivery_id="d-1", event_type="X"))
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await db.insert_rows(
                session, OutgoingMail(recipient="a@example.org", subject="S", body="B")
            )
            await db.insert_rows(session, ProcessedDelivery(delivery_id="d-1", event_type="Y"))
    async with sessions() as session:
        mails = list(await session.scalars(select(OutgoingMail)))
        deliveries = list(await session.scalars(select(ProcessedDelivery)))
    assert mails == [] and [d.event_type for d in deliveries] == ["X"]


async def test_an_abandoned_transaction_is_rolled_back_on_close(engine: AsyncEngine) -> None:
    sessions = db.session_factory(engine)
    async with sessions() as session:
        await db.insert_rows(
            session, OutgoingMail(recipient="a@example.org", subject="S", body="B")
        )
        # closed without commit
    async with sessions() as session:
        assert list(await session.scalars(select(OutgoingMail))) == []


async def test_a_database_locked_by_another_process_is_waited_for_off_the_loop(
    engine: AsyncEngine, tmp_path: Path, trips: Counter[str]
) -> None:
    """Another writer (a migration, a stock import) holds the lock: the statement waits for
    it, and the event loop goes on serving meanwhile."""
    other = sqlite3.connect(tmp_path / "store.db", check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # the write lock, until it commits
    # Let go from another thread: a loop stopped by the wait could not do it.
    release = threading.Timer(0.5, other.commit)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    sessions = db.session_factory(engine)
    ticking = asyncio.create_task(ticker())
    release.start()
    try:
        async with sessions() as session, session.begin():
            await db.insert_rows(
                session, OutgoingMail(recipient="late@example.org", subject="S", body="B")
            )
        assert not release.is_alive()  # the insert waited for the lock
    finally:
        ticking.cancel()
        release.join()
        other.close()
    assert ticks > 0
    assert trips["run_statement_waiting"] == 1
    async with sessions() as session:
        assert [m.recipient for m in await session.scalars(select(OutgoingMail))] == [
            "late@example.org"
        ]
