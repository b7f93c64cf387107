"""The engine's clock: wall time for `time`/`sun`/`for:` and timers on it.

``LoopClock`` runs on the event loop (the default). ``ManualClock`` is driven by hand, so
tests and benchmarks can pass an hour of `for:` timers, delays and `time` triggers
without waiting for it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

Cancel = Callable[[], None]
# A timer far in the future is re-armed at most this often, so a wall clock that jumps
# (NTP, a suspended Pi) is followed within the hour.
_MAX_TIMER_S = 3600.0


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Cancel:
        """Call ``callback`` (in the loop) after ``seconds``; returns a cancel."""

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Cancel:
        """Call ``callback`` once the clock reaches ``when``; returns a cancel."""

    async def async_sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""


class LoopClock:
    """Wall time, with timers on the running event loop."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Cancel:
        handle = asyncio.get_running_loop().call_later(max(seconds, 0.0), callback)
        return handle.cancel

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Cancel:
        current: list[asyncio.TimerHandle] = []

        def arm() -> None:
            remaining = (when - self.now()).total_seconds()
            if remaining <= 0:
                callback()
                return
            loop = asyncio.get_running_loop()
            current[:] = [loop.call_later(min(remaining, _MAX_TIMER_S), arm)]

        def cancel() -> None:
            for handle in current:
                handle.cancel()

        arm()
        return cancel

    async def async_sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class ManualClock:
    """A clock that moves only when told: ``await clock.async_advance(seconds)`` fires every
    timer that falls due on the way, in order, letting the loop run after each."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock's start must be timezone-aware")
        self._now = start.astimezone(UTC)
        self._timers: list[tuple[datetime, int, list[Callable[[], None] | None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._now

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Cancel:
        return self.call_at(self._now + timedelta(seconds=max(seconds, 0.0)), callback)

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Cancel:
        cell: list[Callable[[], None] | None] = [callback]
        heapq.heappush(self._timers, (when, next(self._order), cell))
        return lambda: cell.__setitem__(0, None)

    async def async_sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        cancel = self.call_later(seconds, lambda: _wake(woken))
        try:
            await woken
        finally:
            cancel()

    async def async_advance(self, seconds: float) -> None:
        """Move time forward, firing due timers one by one (each sees its own ``now``)."""
        await self.async_advance_to(self._now + timedelta(seconds=seconds))

    async def async_advance_to(self, until: datetime) -> None:
        await _async_settle()
        while self._timers and self._timers[0][0] <= until:
            when, _order, cell = heapq.heappop(self._timers)
            callback = cell[0]
            if callback is None:
                continue
            self._now = max(self._now, when)
            callback()
            await _async_settle()
        self._now = max(self._now, until)
        await _async_settle()


async def _async_settle(rounds: int = 20) -> None:
    """Let tasks woken by a timer run as far as they can before time moves on."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def _wake(future: asyncio.Future[None]) -> None:
    """Resolve ``future`` unless something else already has."""
    if not future.done():
        future.set_result(None)
