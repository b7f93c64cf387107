"""Job leases in one process: of several replicas' keepers on one database exactly one runs
each job; when it goes, another takes the job within the lease bound."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from cloud.db import utcnow
from cloud.ops.leases import JobLeases, async_renew, async_try_hold
from cloud.ops.models import JobLease

LEASE_SECONDS = 1.0


async def _expiries(sessions: async_sessionmaker[AsyncSession]) -> dict[str, datetime]:
    """Each lease's expiry, by job name."""
    async with sessions() as session:
        query = select(col(JobLease.name), col(JobLease.expires_at))
        return dict((await session.execute(query)).all())


async def test_a_lease_is_held_by_one_holder_until_it_expires(store_sessions):
    lease, now = timedelta(seconds=10), utcnow()
    async with store_sessions() as session, session.begin():
        assert await async_try_hold(session, "job", "a", lease, now)
    async with store_sessions() as session, session.begin():
        assert not await async_try_hold(session, "job", "b", lease, now)
        assert await async_try_hold(session, "job", "a", lease, now)  # renewal
    later = now + lease + timedelta(seconds=1)
    async with store_sessions() as session, session.begin():
        assert await async_try_hold(session, "job", "b", lease, later)
        assert not await async_try_hold(session, "job", "a", lease, later)


async def test_three_keepers_run_a_job_once_and_hand_it_over(store_sessions):
    running: dict[str, int] = {}
    started: list[str] = []

    def job_for(holder: str):
        async def job() -> None:
            started.append(holder)
            running[holder] = running.get(holder, 0) + 1
            try:
                await asyncio.Event().wait()
            finally:
                running[holder] -= 1

        return job

    keepers = [JobLeases(store_sessions, LEASE_SECONDS, holder=f"replica-{i}") for i in range(3)]
    try:
        for keeper in keepers:
            keeper.add("reconciler", job_for(keeper.holder))
        await asyncio.sleep(LEASE_SECONDS * 2)
        assert sum(running.values()) == 1
        assert sum(keeper.holds("reconciler") for keeper in keepers) == 1
        holder = next(keeper for keeper in keepers if keeper.holds("reconciler"))

        # The holder stops renewing (as a killed replica would): its job is taken over.
        assert holder._keeper is not None
        holder._keeper.cancel()
        for job in holder._jobs.values():
            assert job.task is not None
            job.task.cancel()
        loop = asyncio.get_running_loop()
        gone_at = loop.time()
        while not any(k.holds("reconciler") for k in keepers if k is not holder):
            assert loop.time() - gone_at < LEASE_SECONDS * (1 + 1 / 3) + 1.0
            await asyncio.sleep(0.05)
        await asyncio.sleep(LEASE_SECONDS)
        assert sum(n for name, n in running.items() if name != holder.holder) == 1
        assert len(started) == 2
    finally:
        for keeper in keepers:
            await keeper.async_close()


async def test_a_closing_replica_hands_its_job_over_at_once(store_sessions):
    lease = 3.0  # renewed (and retried by the other) every second
    first, second = (JobLeases(store_sessions, lease, holder=name) for name in ("first", "second"))

    async def job() -> None:
        await asyncio.Event().wait()

    try:
        first.add("mail", job)
        await asyncio.sleep(0.3)
        second.add("mail", job)
        await asyncio.sleep(0.3)
        assert first.holds("mail") and not second.holds("mail")
        loop = asyncio.get_running_loop()
        await first.async_close()  # releases the lease: the other need not wait for expiry
        closed_at = loop.time()
        while not second.holds("mail"):
            assert loop.time() - closed_at < lease, "the lease was not released"
            await asyncio.sleep(0.05)
    finally:
        await second.async_close()


def test_a_lease_length_that_is_not_a_sane_number_is_refused(tmp_path):
    import pytest

    from cloud.config import CloudSettings, ConfigError

    base = {"ETHOS_DATA_DIR": str(tmp_path)}
    assert (
        CloudSettings.from_env({**base, "ETHOS_JOB_LEASE_SECONDS": "7.5"}).job_lease_seconds == 7.5
    )
    for bad in ("soon", "0", "-3", "nan", "100000"):
        with pytest.raises(ConfigError, match="ETHOS_JOB_LEASE_SECONDS"):
            CloudSettings.from_env({**base, "ETHOS_JOB_LEASE_SECONDS": bad})


async def test_renewal_extends_only_the_leases_the_holder_still_holds(store_sessions):
    lease, now = timedelta(seconds=10), utcnow()
    async with store_sessions() as session, session.begin():
        for name, holder in (("a", "me"), ("b", "me"), ("c", "other")):
            assert await async_try_hold(session, name, holder, lease, now)
    until = now + lease * 3
    async with store_sessions() as session, session.begin():
        renewed = await async_renew(session, ["a", "b", "c", "unknown"], "me", until)
    rows = await _expiries(store_sessions)
    assert renewed == {"a", "b"}
    assert rows == {"a": until, "b": until, "c": now + lease}


async def test_a_keeper_renews_all_its_jobs_and_stops_one_taken_from_it(store_sessions):
    keeper = JobLeases(store_sessions, LEASE_SECONDS, holder="me")

    async def job() -> None:
        await asyncio.Event().wait()

    try:
        for name in ("a", "b", "c"):
            keeper.add(name, job)
        await asyncio.sleep(0.3)
        assert keeper.held == ["a", "b", "c"]
        first = await _expiries(store_sessions)
        await asyncio.sleep(LEASE_SECONDS / 3 + 0.2)  # one renewal pass later
        second = await _expiries(store_sessions)
        assert all(second[name] > first[name] for name in ("a", "b", "c")), (first, second)

        # Another replica took "b" (this one stalled, say): at its next pass, it stops "b".
        async with store_sessions() as session, session.begin():
            await session.execute(
                update(JobLease)
                .where(col(JobLease.name) == "b")
                .values(holder="other", expires_at=utcnow() + timedelta(minutes=5))
            )
        loop = asyncio.get_running_loop()
        taken_at = loop.time()
        while keeper.holds("b"):
            assert loop.time() - taken_at < LEASE_SECONDS, "b still runs here"
            await asyncio.sleep(0.05)
        assert keeper.held == ["a", "c"]
    finally:
        await keeper.async_close()
