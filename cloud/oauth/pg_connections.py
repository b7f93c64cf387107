"""A few PostgreSQL connections lent to one statement at a time: the token endpoint's own.

asyncpg's pool does more per loan than a single statement needs: a task to release each
connection, a reset, inactivity timers. Lending here is a list pop and push. A connection
comes back for reuse only when the work on it ended normally; after any error (a dropped
server, a cancelled request with its statement perhaps still running) it is closed, so
no connection is ever handed out in an unknown state, and the next loan opens a new one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")
Connect = Callable[[], Awaitable[Any]]


class PoolClosedError(RuntimeError):
    """The pool was closed: no more loans."""

    def __init__(self) -> None:
        super().__init__("the token database pool is closed")


class ConnectionLender:
    """Up to `max_size` connections made by `connect`; waiters are served in order."""

    def __init__(self, connect: Connect, max_size: int) -> None:
        self._connect = connect
        self._max_size = max_size
        self._idle: list[Any] = []
        self._open = 0  # lent out, idle, or being opened
        # A waiter's future gets a connection, or None: open a new one yourself.
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._closed = False

    @property
    def size(self) -> int:
        return self._open

    @property
    def in_use(self) -> int:
        return self._open - len(self._idle)

    async def async_run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """`work` on a lent connection, which is returned (or closed after an error)."""
        connection = await self._async_acquire()
        try:
            result = await work(connection)
        except BaseException:
            self._discard(connection)
            raise
        self._give_back(connection)
        return result

    async def _async_acquire(self) -> Any:
        if self._closed:
            raise PoolClosedError()
        if self._idle:
            return self._idle.pop()
        if self._open >= self._max_size:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                connection = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # served just as we were cancelled
                    given = waiter.result()
                    if given is None:
                        self._open -= 1  # the slot we were to open goes to the next one
                    self._hand_on(given)
                raise
            if connection is not None:
                return connection
            # None: a slot was freed by a closed connection; this waiter opens its own.
        else:
            self._open += 1
        try:
            return await self._connect()
        except BaseException:
            self._open -= 1
            self._hand_on(None)
            raise

    def _give_back(self, connection: Any) -> None:
        if self._closed or connection.is_closed():
            self._discard(connection)
        else:
            self._hand_on(connection)

    def _hand_on(self, connection: Any | None) -> None:
        """A connection (or, as None, a free slot) to the first live waiter, else idle."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                if connection is None:
                    self._open += 1
                waiter.set_result(connection)
                return
        if connection is not None:
            self._idle.append(connection)

    def _discard(self, connection: Any) -> None:
        self._open -= 1
        if not connection.is_closed():
            connection.terminate()
        if not self._closed:
            self._hand_on(None)

    async def async_close(self) -> None:
        """Close the idle connections; lent ones are closed as they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        for connection in idle:
            try:
                await connection.close(timeout=5)
            except (TimeoutError, OSError) as err:
                _LOGGER.debug("closing a token database connection: %s", err)
                connection.terminate()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolClosedError())
