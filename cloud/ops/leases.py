"""Jobs that run on exactly one replica: each holds a lease row (holder, expiry) in the
database, renewed by its holder; when the holder dies its lease runs out and another
replica takes the job over.

A lease is taken by one conditional UPDATE (`holder = me OR expires_at < now`), which the
database serialises on both PostgreSQL and SQLite, so two replicas can never both hold it;
the leases of the jobs a replica runs are renewed together, by one UPDATE of the rows it
still holds, in one transaction a pass. A holder that cannot renew (database gone, lease
taken) stops the job at once. Expiry compares replicas' clocks: keep them synchronised
(NTP) well within the lease length. The jobs themselves still claim rows one by one
(FOR UPDATE SKIP LOCKED), so even a paused-then-resumed old holder cannot repeat work
another replica finished.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from cloud.db import affected_rows, utcnow
from cloud.ops.const import RENEWALS_PER_LEASE
from cloud.ops.models import JobLease
from ethos.tasks import async_cancel_and_wait, async_wait_event

_LOGGER = logging.getLogger(__name__)

JobFactory = Callable[[], Awaitable[None]]
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)
_LEASES: Table = JobLease.__table__  # type: ignore[attr-defined]
_RENEW = (
    update(_LEASES)
    .where(
        _LEASES.c.name.in_(bindparam("b_names", expanding=True)),
        _LEASES.c.holder == bindparam("b_holder"),
    )
    .values(expires_at=bindparam("b_until"))
    .returning(_LEASES.c.name)
)


def new_holder_id() -> str:
    """Names this replica in the lease table: host, process id and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


async def async_try_hold(
    session: AsyncSession, name: str, holder: str, lease: timedelta, now: datetime
) -> bool:
    """Take or renew the lease `name` for `holder` until now + lease; False if another
    replica holds it. Call inside a transaction."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(JobLease)
        .values(name=name, holder="", expires_at=_NEVER, acquired_at=_NEVER)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    current = await session.scalar(select(col(JobLease.holder)).where(col(JobLease.name) == name))
    values: dict[str, object] = {"holder": holder, "expires_at": now + lease}
    if current != holder:
        values["acquired_at"] = now
    result = await session.execute(
        update(JobLease)
        .where(
            col(JobLease.name) == name,
            (col(JobLease.holder) == holder) | (col(JobLease.expires_at) < now),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result) == 1


async def async_renew(
    session: AsyncSession, names: list[str], holder: str, until: datetime
) -> set[str]:
    """Extend to `until` the leases among `names` that `holder` still holds, in one
    statement; the names renewed. Call inside a transaction."""
    if not names:
        return set()
    renewed = await session.execute(
        _RENEW, {"b_names": names, "b_holder": holder, "b_until": until}
    )
    return {str(name) for (name,) in renewed}


async def async_release(session: AsyncSession, name: str, holder: str) -> None:
    """Give the lease up now (a clean shutdown), so another replica need not wait."""
    await session.execute(
        update(JobLease)
        .where(col(JobLease.name) == name, col(JobLease.holder) == holder)
        .values(expires_at=_NEVER)
        .execution_options(synchronize_session=False)
    )


async def async_hold_only() -> None:
    """A job that does nothing but hold its lease: for work whose owner asks `holds()`."""
    await asyncio.Event().wait()


@dataclass
class _Job:
    name: str
    factory: JobFactory
    task: asyncio.Task[None] | None = None
    # Event-loop time until which the lease is surely ours (taken before the renewal ran).
    held_until: float = 0.0

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


@dataclass
class JobLeases:
    """One per replica: runs each registered job while this replica holds its lease."""

    sessions: async_sessionmaker[AsyncSession]
    lease_seconds: float
    holder: str = field(default_factory=new_holder_id)
    _jobs: dict[str, _Job] = field(default_factory=dict)
    _keeper: asyncio.Task[None] | None = None
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, name: str, factory: JobFactory) -> None:
        """Run `factory()` (a never-ending coroutine) whenever this replica holds `name`."""
        self._jobs[name] = _Job(name, factory)
        self._wakeup.set()
        if self._keeper is None:
            self._keeper = asyncio.create_task(self._async_keep(), name="job-leases")

    def holds(self, name: str) -> bool:
        """Whether this replica runs `name` now: its lease renewed and not yet run out (a
        replica whose event loop stalled past its lease no longer counts as holding)."""
        job = self._jobs.get(name)
        return bool(job and job.running and asyncio.get_running_loop().time() < job.held_until)

    @property
    def registered(self) -> list[str]:
        """Every job this replica would run while holding its lease."""
        return sorted(self._jobs)

    @property
    def held(self) -> list[str]:
        return sorted(name for name in self._jobs if self.holds(name))

    async def _async_keep(self) -> None:
        interval = self.lease_seconds / RENEWALS_PER_LEASE
        lease = timedelta(seconds=self.lease_seconds)
        loop = asyncio.get_running_loop()
        while True:
            self._wakeup.clear()
            jobs = list(self._jobs.values())
            for job in jobs:
                if job.running and loop.time() >= job.held_until:
                    # This loop stalled past the lease: another replica may run it already.
                    _LOGGER.warning("lease %s ran out before its renewal; stopping it", job.name)
                    await async_cancel_and_wait(job.task)
                    job.task = None
            asked_at = loop.time()
            held = await self._async_hold(jobs, lease)
            for job in jobs:
                if job.name in held:
                    job.held_until = asked_at + self.lease_seconds
                await self._async_follow(job, job.name in held)
            await async_wait_event(self._wakeup, interval)

    async def _async_hold(self, jobs: list[_Job], lease: timedelta) -> set[str]:
        """The names of `jobs` this replica holds now: those it runs renewed together (one
        statement), the others taken if free. One transaction per pass."""
        try:
            async with self.sessions() as session, session.begin():
                now = utcnow()
                running = [job.name for job in jobs if job.running]
                held = await async_renew(session, running, self.holder, now + lease)
                for job in jobs:
                    if not job.running and await async_try_hold(
                        session, job.name, self.holder, lease, now
                    ):
                        held.add(job.name)
                return held
        except asyncio.CancelledError:
            raise
        except Exception as err:  # database unreachable: assume the leases are lost
            names = ", ".join(job.name for job in jobs)
            _LOGGER.warning("leases %s not renewed (%s)", names, type(err).__name__)
            return set()

    async def _async_follow(self, job: _Job, held: bool) -> None:
        running = job.running
        if held and not running:
            _LOGGER.info("this replica (%s) now runs %s", self.holder, job.name)
            job.task = asyncio.create_task(self._async_run(job), name=f"job-{job.name}")
        elif not held and running:
            _LOGGER.warning("this replica no longer holds %s; stopping it", job.name)
            await async_cancel_and_wait(job.task)
            job.task = None

    async def _async_run(self, job: _Job) -> None:
        try:
            await job.factory()
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception(
                "job %s ended with an error; it starts again at next renewal", job.name
            )

    async def async_stop(self, name: str) -> None:
        """Stop the job `name` (its area is closing) and give its lease up."""
        job = self._jobs.pop(name, None)
        if job is None:
            return
        await async_cancel_and_wait(job.task)
        if job.task is not None:
            await self._async_release([name])

    async def _async_release(self, names: list[str]) -> None:
        try:
            async with self.sessions() as session, session.begin():
                for name in names:
                    await async_release(session, name, self.holder)
        except Exception as err:  # the leases run out by themselves
            _LOGGER.warning("leases not released (%s)", type(err).__name__)

    async def async_close(self) -> None:
        """Stop every job and give their leases up for another replica."""
        await async_cancel_and_wait(self._keeper, *(job.task for job in self._jobs.values()))
        await self._async_release([job.name for job in self._jobs.values() if job.task])
        self._jobs.clear()
