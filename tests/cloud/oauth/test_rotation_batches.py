"""Refresh rotations arriving together go to the database together, each keeping its own
answer: a lone rotation never waits, a token never meets itself in one statement, and a
rotation that fails fails alone. First through the batcher with a recorded runner, then
through the PostgreSQL token rows (e2e tier)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import timedelta

import pytest

from cloud.db import utcnow
from cloud.oauth.pg_token_rows import PostgresTokenRows
from cloud.oauth.rotation_batches import Rotation, RotationBatcher
from cloud.oauth.token_rows import Issued, NewToken
from tests.conftest import DatabaseTarget
from tests.support.databases import asyncpg_dsn


def _new(refresh_hash: str | None = None) -> NewToken:
    now = utcnow()
    return NewToken(
        secrets.token_hex(32),
        refresh_hash or secrets.token_hex(32),
        now,
        now + timedelta(minutes=10),
        now + timedelta(days=30),
    )


def _rotation(refresh_hash: str) -> Rotation:
    return Rotation(refresh_hash, "client", utcnow(), None, None, _new())


class RecordingRunner:
    """Answers each rotation with its token's hash; holds every batch until released."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self._failing = failing or set()

    async def __call__(self, rotations: Sequence[Rotation]) -> list[str]:
        hashes = [rotation.refresh_hash for rotation in rotations]
        self.batches.append(hashes)
        await self.release.wait()
        if self._failing & set(hashes):
            raise RuntimeError(f"cannot rotate {sorted(self._failing & set(hashes))}")
        return [f"issued for {refresh_hash}" for refresh_hash in hashes]


async def test_a_lone_rotation_runs_at_once() -> None:
    runner = RecordingRunner()
    runner.release.set()
    batcher = RotationBatcher(runner)
    assert await asyncio.wait_for(batcher.async_rotate(_rotation("a")), 1) == "issued for a"
    assert runner.batches == [["a"]]


async def test_rotations_arriving_while_batches_run_go_together_each_with_its_answer() -> None:
    runner = RecordingRunner()
    batcher = RotationBatcher(runner, max_in_flight=1, max_batch=4)
    first = asyncio.create_task(batcher.async_rotate(_rotation("first")))
    await asyncio.sleep(0)  # its batch is running
    hashes = ["f", "c", "e", "a", "d", "b"]
    waiting = [asyncio.create_task(batcher.async_rotate(_rotation(h))) for h in hashes]
    await asyncio.sleep(0)
    assert runner.batches == [["first"]]
    runner.release.set()
    answers = await asyncio.wait_for(asyncio.gather(first, *waiting), 1)
    assert answers == [f"issued for {h}" for h in ["first", *hashes]]
    # The six waiting ones went in two statements of at most four, each in hash order.
    assert runner.batches[1:] == [["a", "c", "e", "f"], ["b", "d"]]


async def test_two_rotations_of_one_token_never_share_a_statement() -> None:
    runner = RecordingRunner()
    batcher = RotationBatcher(runner, max_in_flight=1)
    blocker = asyncio.create_task(batcher.async_rotate(_rotation("blocker")))
    await asyncio.sleep(0)
    same = [asyncio.create_task(batcher.async_rotate(_rotation("same"))) for _ in range(2)]
    other = asyncio.create_task(batcher.async_rotate(_rotation("other")))
    await asyncio.sleep(0)
    runner.release.set()
    await asyncio.wait_for(asyncio.gather(blocker, *same, other), 1)
    assert runner.batches == [["blocker"], ["other", "same"], ["same"]]


async def test_a_failing_rotation_fails_alone() -> None:
    runner = RecordingRunner(failing={"bad"})
    batcher = RotationBatcher(runner, max_in_flight=1)
    blocker = asyncio.create_task(batcher.async_rotate(_rotation("blocker")))
    await asyncio.sleep(0)
    tasks = {h: asyncio.create_task(batcher.async_rotate(_rotation(h))) for h in ("a", "bad", "c")}
    await asyncio.sleep(0)
    runner.release.set()
    await asyncio.wait_for(asyncio.wait([blocker, *tasks.values()]), 1)
    assert tasks["a"].result() == "issued for a" and tasks["c"].result() == "issued for c"
    with pytest.raises(RuntimeError, match="bad"):
        tasks["bad"].result()
    # The batch of three failed as a whole (changing nothing); each then ran alone.
    assert runner.batches == [["blocker"], ["a", "bad", "c"], ["a"], ["bad"], ["c"]]


async def test_a_request_cancelled_while_it_waits_is_not_sent() -> None:
    runner = RecordingRunner()
    batcher = RotationBatcher(runner, max_in_flight=1)
    blocker = asyncio.create_task(batcher.async_rotate(_rotation("blocker")))
    await asyncio.sleep(0)
    gone = asyncio.create_task(batcher.async_rotate(_rotation("gone")))
    kept = asyncio.create_task(batcher.async_rotate(_rotation("kept")))
    await asyncio.sleep(0)
    gone.cancel()
    runner.release.set()
    assert await asyncio.wait_for(kept, 1) == "issued for kept"
    await blocker
    assert runner.batches == [["blocker"], ["kept"]]


# Through PostgreSQL: the statement the batches run.


@pytest.fixture
async def token_rows(migrated_database: DatabaseTarget):
    import asyncpg

    from cloud.oauth.pg_connections import ConnectionLender

    async def connect() -> object:
        return await asyncpg.connect(
            asyncpg_dsn(migrated_database.url),
            server_settings={"search_path": migrated_database.schema or "public"},
        )

    rows = PostgresTokenRows(ConnectionLender(connect, 2))
    yield rows, connect
    await rows.aclose()


async def _live_tokens(connect, count: int) -> list[str]:
    """`count` live refresh tokens (their hashes) of one confirmed user, a family each."""
    connection = await connect()
    try:
        now = utcnow()
        user_id = await connection.fetchval(
            "INSERT INTO users (email, password_hash, confirmed, created_at) "
            "VALUES ($1, 'x', true, $2) RETURNING id",
            f"{secrets.token_hex(4)}@example.org",
            now,
        )
        await connection.execute(
            "INSERT INTO oauth_clients (client_id, name, redirect_uris, grant_types, scope, "
            "token_endpoint_auth_method, first_party, created_at) VALUES "
            "('hub', 'Hub', '', 'refresh_token', 'openid', 'none', false, $1) "
            "ON CONFLICT DO NOTHING",
            now,
        )
        hashes = [secrets.token_hex(32) for _ in range(count)]
        for refresh_hash in hashes:
            await connection.execute(
                "INSERT INTO oauth_tokens (family_id, client_id, user_id, scope, "
                "access_token_hash, refresh_token_hash, issued_at, access_expires_at, "
                "refresh_expires_at) VALUES ($1, 'hub', $2, 'openid', $3, $4, $5, $5, $6)",
                refresh_hash[:32],
                user_id,
                secrets.token_hex(32),
                refresh_hash,
                now,
                now + timedelta(days=30),
            )
        return hashes
    finally:
        await connection.close()


@pytest.mark.e2e_only
async def test_concurrent_rotations_each_spend_their_own_token_once(token_rows) -> None:
    rows, connect = token_rows
    hashes = await _live_tokens(connect, 24)
    tries = [*hashes, *hashes[:6]]  # six tokens presented twice at the same time

    results = await asyncio.gather(*(rows.rotate(h, "hub", utcnow(), _new()) for h in tries))

    by_token: dict[str, list[Issued | None]] = {}
    for refresh_hash, issued in zip(tries, results, strict=True):
        by_token.setdefault(refresh_hash, []).append(issued)
    for refresh_hash, answers in by_token.items():
        won = [issued for issued in answers if issued is not None]
        assert len(won) == 1, (refresh_hash, answers)  # one winner, whichever statement
        assert won[0] == Issued(refresh_hash[:32], "openid")
    connection = await connect()
    try:
        live = await connection.fetchval(
            "SELECT count(*) FROM oauth_tokens WHERE rotated_at IS NULL AND client_id = 'hub'"
        )
    finally:
        await connection.close()
    assert live == 24  # each family: its token spent once, one successor


@pytest.mark.e2e_only
async def test_a_rotation_that_fails_in_the_database_fails_alone(token_rows) -> None:
    rows, connect = token_rows
    hashes = await _live_tokens(connect, 8)
    # The third's successor would reuse a hash that exists: a unique violation.
    news = [_new(hashes[0] if index == 2 else None) for index in range(8)]

    results = await asyncio.gather(
        *(rows.rotate(h, "hub", utcnow(), new) for h, new in zip(hashes, news, strict=True)),
        return_exceptions=True,
    )

    import asyncpg

    assert isinstance(results[2], asyncpg.UniqueViolationError), results[2]
    others = [result for index, result in enumerate(results) if index != 2]
    assert all(isinstance(result, Issued) for result in others), others
    # The failed rotation changed nothing: its token is still live and can be spent.
    assert await rows.rotate(hashes[2], "hub", utcnow(), _new()) is not None
