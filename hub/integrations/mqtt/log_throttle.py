"""Warnings that junk cannot turn into a flood: a few per interval, then one count."""

from __future__ import annotations

import asyncio
import logging
import time


class LogThrottle:
    """Logs the first ``per_interval`` warnings of an interval one by one; those after
    are counted and reported in one line when the interval ends."""

    def __init__(
        self, logger: logging.Logger, summary: str, per_interval: int, interval_s: float
    ) -> None:
        self._logger = logger
        self._summary = summary  # formatted with (count, interval_s)
        self._per_interval = per_interval
        self._interval_s = interval_s
        self._left = per_interval
        self._suppressed = 0
        self._interval_ends = 0.0
        self._flush: asyncio.TimerHandle | None = None

    def warn(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now >= self._interval_ends:
            self._interval_ends = now + self._interval_s
            self._left = self._per_interval
        if self._left > 0:
            self._left -= 1
            self._logger.warning(message, *args)
            return
        self._suppressed += 1
        if self._flush is None:
            loop = asyncio.get_running_loop()
            self._flush = loop.call_at(
                loop.time() + self._interval_ends - now, self._report_suppressed
            )

    def _report_suppressed(self) -> None:
        self._flush = None
        if self._suppressed:
            self._logger.warning(self._summary, self._suppressed, self._interval_s)
            self._suppressed = 0

    def close(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._report_suppressed()
