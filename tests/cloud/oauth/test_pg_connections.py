"""The token endpoint's own PostgreSQL connections: lent one statement at a time, reused,
never more than the limit, and never handed out again after an error."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest

from cloud.db import utcnow
from cloud.oauth.pg_connections import ConnectionLender, PoolClosedError
from cloud.oauth.pg_token_rows import PostgresTokenRows
from tests.conftest import DatabaseTarget
from tests.support.databases import async_execute, asyncpg_dsn

pytestmark = pytest.mark.e2e_only


def _lender(database: DatabaseTarget, max_size: int) -> tuple[ConnectionLender, list[object]]:
    import asyncpg

    opened: list[object] = []

    async def connect() -> object:
        connection = await asyncpg.connect(
            asyncpg_dsn(database.url),
            server_settings={"search_path": database.schema or "public"},
        )
        opened.append(connection)
        return connection

    return ConnectionLender(connect, max_size), opened


def _backend(connection: Any) -> Awaitable[Any]:
    return connection.fetchval("SELECT pg_backend_pid()")


async def _terminate(database: DatabaseTarget, backend: int) -> None:
    """What a restarted PostgreSQL does to a connection: the server ends it."""
    await async_execute(database.url, f"SELECT pg_terminate_backend({int(backend)})")


async def test_loans_one_after_another_reuse_one_connection(database: DatabaseTarget) -> None:
    lender, opened = _lender(database, max_size=4)
    try:
        pids = {await lender.async_run(_backend) for _ in range(5)}
        assert len(pids) == 1 and len(opened) == 1
        assert (lender.size, lender.in_use) == (1, 0)
    finally:
        await lender.async_close()
    assert all(connection.is_closed() for connection in opened)


async def test_concurrent_work_waits_for_one_of_the_few_connections(
    database: DatabaseTarget,
) -> None:
    lender, opened = _lender(database, max_size=2)
    busy, most_busy = 0, 0

    async def work(connection) -> int:
        nonlocal busy, most_busy
        busy += 1
        most_busy = max(most_busy, busy)
        try:
            return await connection.fetchval("SELECT $1::int FROM pg_sleep(0.02)", 7)
        finally:
            busy -= 1

    try:
        results = await asyncio.gather(*(lender.async_run(work) for _ in range(10)))
        assert results == [7] * 10
        assert most_busy == 2 and len(opened) == 2
        assert (lender.size, lender.in_use) == (2, 0)
    finally:
        await lender.async_close()


async def test_a_connection_is_closed_after_an_error_and_the_next_loan_gets_a_new_one(
    database: DatabaseTarget,
) -> None:
    import asyncpg

    lender, opened = _lender(database, max_size=1)
    try:
        first = await lender.async_run(_backend)
        with pytest.raises(asyncpg.DivisionByZeroError):
            await lender.async_run(lambda c: c.fetchval("SELECT 1 / 0"))
        assert opened[0].is_closed() and lender.size == 0
        # The server dropped the next one (a restarted PostgreSQL): the error is the
        # caller's to see, and the connection is not lent again either.
        second = await lender.async_run(_backend)
        assert second != first
        await _terminate(database, second)
        # asyncpg says so in one of three ways, by whether the socket had closed yet.
        dropped = (
            asyncpg.ConnectionDoesNotExistError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
        )
        with pytest.raises(dropped):
            await lender.async_run(_backend)
        assert await lender.async_run(_backend) not in (first, second)
        assert len(opened) == 3 and lender.size == 1
    finally:
        await lender.async_close()


async def test_a_cancelled_waiter_takes_no_connection_with_it(database: DatabaseTarget) -> None:
    lender, opened = _lender(database, max_size=1)
    release = asyncio.Event()

    async def hold(connection) -> None:
        await release.wait()

    try:
        holder = asyncio.create_task(lender.async_run(hold))
        await asyncio.sleep(0.1)  # the only connection is lent
        waiter = asyncio.create_task(lender.async_run(_backend))
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        release.set()
        await holder
        await asyncio.wait_for(lender.async_run(_backend), timeout=5)
        assert len(opened) == 1 and (lender.size, lender.in_use) == (1, 0)
    finally:
        await lender.async_close()


async def test_a_cancelled_request_does_not_leave_its_statement_on_a_lent_connection(
    database: DatabaseTarget,
) -> None:
    lender, opened = _lender(database, max_size=1)
    try:
        slow = asyncio.create_task(lender.async_run(lambda c: c.execute("SELECT pg_sleep(5)")))
        await asyncio.sleep(0.2)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        # A connection perhaps still busy with the cancelled statement is not lent again.
        assert await asyncio.wait_for(lender.async_run(lambda c: c.fetchval("SELECT 1")), 2) == 1
        assert opened[0].is_closed() and len(opened) == 2
    finally:
        await lender.async_close()


async def test_a_closed_pool_lends_nothing(database: DatabaseTarget) -> None:
    lender, opened = _lender(database, max_size=2)
    await lender.async_run(_backend)
    await lender.async_close()
    assert opened[0].is_closed() and lender.size == 0
    with pytest.raises(PoolClosedError):
        await lender.async_run(_backend)


async def test_a_token_lookup_after_the_server_dropped_its_connection_is_answered(
    migrated_database: DatabaseTarget,
) -> None:
    """A restarted PostgreSQL: the statement runs again on a new connection, once."""
    lender, opened = _lender(migrated_database, max_size=1)
    rows = PostgresTokenRows(lender)
    try:
        for _ in range(3):  # however asyncpg notices the drop, by luck of timing
            await _terminate(migrated_database, await lender.async_run(_backend))
            assert await rows.access_grant("no-such-token-hash", utcnow()) is None
    finally:
        await rows.aclose()
    assert len(opened) >= 4
