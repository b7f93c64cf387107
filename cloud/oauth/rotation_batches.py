"""Refresh rotations that arrive together go to PostgreSQL together: one statement for many.

Alone, every rotation pays a round trip, a statement's overhead and a commit (a WAL flush)
of its own: on the 2-core machine, about 180-200 µs of PostgreSQL CPU per rotation, against
about 80 µs when eight go together, and a quarter of the client's work. PostgreSQL is what
every replica shares, so its cost per refresh is what bounds the whole shop.

Nothing waits on a timer: a rotation that finds no batch running (`max_in_flight`) starts
one at once, alone when nobody else is asking. The ones that arrive while it runs wait for
it to finish, then go together, up to `max_batch`. Under the token benchmark's load (8
clients) that makes batches of about four: PostgreSQL's CPU per refresh fell from 0.24 to
0.13 ms. Two batches at once gave as many refreshes a second, but mostly batches of one.

Each rotation keeps its own guard and its own answer (the statement holds one spend and one
issue per rotation, cloud/oauth/pg_token_rows.py). Two rotations of the same token never share
a statement: the second goes in a later one and is judged, as before, as a spent token
coming back. Rotations are sent in the order of their tokens' hashes, so batches running at
once (on other replicas) take their rows' locks in the same order. A statement is atomic:
when a batch fails, it changed nothing, and each of its rotations is run again alone, so
that one rotation's failure is its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from cloud.oauth.token_rows import NewToken

_LOGGER = logging.getLogger(__name__)

# Batches running at once per replica (each on a connection of its own).
MAX_IN_FLIGHT = 1
# Rotations in one statement at most (nine parameters each).
MAX_BATCH = 16


@dataclass(frozen=True)
class Rotation:
    """One refresh token to spend and its successor's row (`new`: hashes only)."""

    refresh_hash: str
    client_id: str
    now: datetime
    expected_scope: str | None
    scope: str | None
    new: NewToken


# What a rotation gave: the issued row's family and scope, or None when nothing was spent.
R = TypeVar("R")


class RotationBatcher(Generic[R]):
    """Gathers concurrent rotations into batches; `run` runs one batch as one statement and
    answers for each rotation, in order."""

    def __init__(
        self,
        run: Callable[[Sequence[Rotation]], Awaitable[list[R]]],
        max_in_flight: int = MAX_IN_FLIGHT,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._run = run
        self._max_in_flight = max_in_flight
        self._max_batch = max_batch
        self._waiting: deque[tuple[Rotation, asyncio.Future[R]]] = deque()
        self._running: set[asyncio.Task[None]] = set()

    async def async_rotate(self, rotation: Rotation) -> R:
        """What `run` answered for this rotation, run alone or with others."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((rotation, future))
        if len(self._running) < self._max_in_flight:
            self._start_batch()
        return await future

    def _start_batch(self) -> None:
        batch: list[tuple[Rotation, asyncio.Future[R]]] = []
        later: list[tuple[Rotation, asyncio.Future[R]]] = []
        hashes: set[str] = set()
        while self._waiting and len(batch) < self._max_batch:
            rotation, future = self._waiting.popleft()
            if future.done():  # its request was cancelled while it waited
                continue
            if rotation.refresh_hash in hashes:
                later.append((rotation, future))
                continue
            hashes.add(rotation.refresh_hash)
            batch.append((rotation, future))
        self._waiting.extendleft(reversed(later))
        if not batch:
            return
        batch.sort(key=lambda pair: pair[0].refresh_hash)
        task = asyncio.get_running_loop().create_task(self._async_run(batch))
        self._running.add(task)
        task.add_done_callback(self._batch_done)

    def _batch_done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._waiting and len(self._running) < self._max_in_flight:
            self._start_batch()

    async def _async_run(self, batch: list[tuple[Rotation, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run([rotation for rotation, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as error:
            if len(batch) == 1:
                _fail(batch[0][1], error)
                return
            _LOGGER.info("a batch of %s rotations failed (%s); each runs alone", len(batch), error)
            await asyncio.gather(*(self._async_run([pair]) for pair in batch))
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result)

    async def async_close(self) -> None:
        """Wait for the batches running (their requests wait for them too)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)


def _settle(future: asyncio.Future[R], result: R) -> None:
    if not future.done():  # else the request was cancelled meanwhile: nobody reads it
        future.set_result(result)


def _fail(future: asyncio.Future[R], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
