"""Once-only jobs across THREE real store processes on one database: each job has one
holder, a SIGKILLed holder's jobs move to a survivor within the lease bound, and nothing
runs twice (each mail is sent once)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from cloud import db
from cloud.mail.models import OutgoingMail
from cloud.ops.const import (
    JOB_MAIL,
    JOB_RECOMMENDER_TRAINING,
    JOB_RECONCILER,
    JOB_SIGNING_KEY_ROTATION,
)
from cloud.ops.models import JobLease
from tests.cloud.common import PASSWORD
from tests.cloud.ops.replicas import Replicas, run_cli, sign_up, store_env

LEASE_SECONDS = 2.0
# Lease expiry plus one renewal interval, plus slack for a loaded 2-core machine.
TAKEOVER_BOUND_SECONDS = LEASE_SECONDS * (1 + 1 / 3) + 3.0
JOBS = (JOB_MAIL, JOB_RECONCILER, JOB_SIGNING_KEY_ROTATION, JOB_RECOMMENDER_TRAINING)


async def _live_holders(engine) -> dict[str, int]:
    """Job → process id of its holder, for leases not yet expired."""
    async with engine.connect() as connection:
        rows = (await connection.execute(select(JobLease))).all()
    now = datetime.now(UTC)
    holders = {}
    for row in rows:
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
        if row.holder and expires > now:
            holders[row.name] = int(row.holder.split(":")[1])
    return holders


async def _wait_recorded_sent(engine, recipient: str, timeout: float = 10) -> None:
    """Until the sending replica has committed that the mail went out."""
    deadline = time.monotonic() + timeout
    query = select(OutgoingMail.sent_at).where(OutgoingMail.recipient == recipient)
    while True:
        async with engine.connect() as connection:
            if (await connection.execute(query)).scalar() is not None:
                return
        assert time.monotonic() < deadline, f"the mail to {recipient} is not marked sent"
        await asyncio.sleep(0.05)


async def _wait_for_holders(engine, among: set[int], timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        holders = await _live_holders(engine)
        if all(holders.get(job) in among for job in JOBS):
            return holders
        assert time.monotonic() < deadline, f"holders {holders}, live processes {among}"
        await asyncio.sleep(0.1)


@pytest.mark.e2e_only  # three store processes start in ~30 s here: too slow for the default tier
async def test_three_replicas_run_each_job_once_and_hand_over_on_sigkill(
    database, smtp_server, tmp_path: Path, unique_id
):
    env = store_env(
        database, tmp_path / "data", SMTP_URL=smtp_server.url, ETHOS_JOB_LEASE_SECONDS="2"
    )
    migrated = run_cli(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    replicas = Replicas()
    engine = db.create_engine(database.url, database.schema)
    try:
        started = [replicas.start(env, tmp_path / "logs") for _ in range(3)]
        for replica in started:
            await replicas.wait_serving(replica)
        pids = {replica.pid for replica in started}
        holders = await _wait_for_holders(engine, pids, timeout=20)

        # A mail queued on a replica that does not send mail is sent once, by the holder.
        mail_holder = next(r for r in started if r.pid == holders[JOB_MAIL])
        other = next(r for r in started if r is not mail_holder)
        first = f"once-{unique_id}@example.org"
        assert await sign_up(other.url, first, PASSWORD) == 200
        await smtp_server.wait_for(first, timeout=15)
        await _wait_recorded_sent(engine, first)

        # SIGKILL the mail holder: its jobs move to a survivor within the bound.
        killed_at = time.monotonic()
        mail_holder.kill()
        survivors = pids - {mail_holder.pid}
        holders = await _wait_for_holders(engine, survivors, timeout=TAKEOVER_BOUND_SECONDS)
        took_over = time.monotonic() - killed_at
        assert took_over <= TAKEOVER_BOUND_SECONDS

        second = f"after-{unique_id}@example.org"
        assert await sign_up(other.url, second, PASSWORD) == 200
        await smtp_server.wait_for(second, timeout=15)

        # Several renewals later: still one holder each, and no mail was sent twice.
        await asyncio.sleep(LEASE_SECONDS * 2)
        assert set((await _live_holders(engine)).values()) <= survivors
        assert len(smtp_server.messages_to(first)) == 1
        assert len(smtp_server.messages_to(second)) == 1
    finally:
        replicas.stop_all()
        await engine.dispose()
