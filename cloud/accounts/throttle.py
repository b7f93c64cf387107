"""Brute-force protection for sign-in, kept in the database so every replica sees it.

Modelled on Keycloak's brute-force detection when switched on: after `lock_after` (30)
failures an account is locked for `wait_increment` (60 s) per block of 30 failures, up to
`max_wait` (15 min). Before that, from `slow_after` failures, each attempt must wait a
doubling delay so guessing is slowed long before the lock. Unknown emails are throttled
exactly like known ones, so the answers never reveal whether an email is registered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.models import LoginThrottle
from cloud.db import utcnow


@dataclass(frozen=True)
class ThrottlePolicy:
    slow_after: int = 5
    first_slow_wait: timedelta = timedelta(seconds=1)
    max_slow_wait: timedelta = timedelta(seconds=30)
    lock_after: int = 30
    wait_increment: timedelta = timedelta(seconds=60)
    max_wait: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(hours=12)

    def wait_after(self, failures: int) -> timedelta:
        """How long the key must wait after its `failures`-th consecutive failure."""
        if failures < self.slow_after:
            return timedelta(0)
        if failures < self.lock_after:
            slow = self.first_slow_wait * 2 ** (failures - self.slow_after)
            return min(slow, self.max_slow_wait)
        return min(self.wait_increment * (failures // self.lock_after), self.max_wait)


ACCOUNT_POLICY = ThrottlePolicy()
# Many people can share one address (NAT, campus): allow more before slowing it down.
ADDRESS_POLICY = ThrottlePolicy(slow_after=20, lock_after=100)


def seconds_until(until: datetime) -> int:
    """Whole seconds left of a wait, at least 1 (what Retry-After carries)."""
    return max(1, math.ceil((until - utcnow()).total_seconds()))


def wait_phrase(seconds: int) -> str:
    """A wait as people say it: "1 second", "40 seconds", "3 minutes" (rounded up)."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def throttled_message(seconds: int) -> str:
    return f"Too many attempts. Please wait {wait_phrase(seconds)}, then try again."


def account_key(email: str) -> str:
    return f"email:{email}"


def address_key(address: str) -> str:
    return f"ip:{address}"


def password_keys(email: str, address: str) -> list[str]:
    """The counters a typed password is charged to: the account's, then the address's.
    Sign-in, confirming a sign-up and changing a password all share them."""
    return [account_key(email), address_key(address)]


async def record_password_failure(session: AsyncSession, keys: list[str]) -> None:
    """Count a wrong password against the account (first key) and the address (second)."""
    await record_failure(session, keys[0], ACCOUNT_POLICY)
    await record_failure(session, keys[1], ADDRESS_POLICY)


async def blocked_until(session: AsyncSession, keys: list[str]) -> datetime | None:
    """The latest time any of `keys` is blocked until, if that is in the future."""
    now = utcnow()
    rows = (
        await session.scalars(select(LoginThrottle).where(col(LoginThrottle.key).in_(keys)))
    ).all()
    until = [row.blocked_until for row in rows if row.blocked_until and row.blocked_until > now]
    return max(until) if until else None


async def record_failure(session: AsyncSession, key: str, policy: ThrottlePolicy) -> None:
    """Count one failure (row-locked where the database can), then set the wait it earns."""
    now = utcnow()
    row = await session.scalar(
        select(LoginThrottle).where(col(LoginThrottle.key) == key).with_for_update()
    )
    if row is None:
        try:
            async with session.begin_nested():
                row = LoginThrottle(key=key, failures=0, last_failure_at=now)
                session.add(row)
        except IntegrityError:  # another request inserted it first: count on its row
            row = await session.scalar(
                select(LoginThrottle).where(col(LoginThrottle.key) == key).with_for_update()
            )
            assert row is not None
    if now - row.last_failure_at > policy.forget_after:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    wait = policy.wait_after(row.failures)
    row.blocked_until = now + wait if wait else None


async def forget(session: AsyncSession, key: str) -> None:
    await session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == key))
