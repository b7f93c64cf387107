"""Stopping background tasks for good, and waiting without losing a stop, for the store
and the hub alike.

``task.cancel()`` asks once. On Python 3.11, code awaiting through ``asyncio.wait_for``
(aiomqtt's publish, subscribe and connect, for one) swallows a cancellation that arrives
just as what it waited for completes; a ``while True`` loop then runs on and whoever
awaits the task waits forever. Stopping here repeats the request until the task has ended,
and our own waits use ``asyncio.timeout``, which keeps the cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

_LOGGER = logging.getLogger(__name__)

RECANCEL_AFTER_S = 0.5


async def async_cancel_and_wait(*tasks: asyncio.Task | None) -> None:
    """Cancel ``tasks`` (``None`` is skipped) and return once every one has ended.

    A task that had already failed is logged, not raised: its owner is stopping anyway.
    """
    given = [task for task in tasks if task is not None]
    pending = {task for task in given if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=RECANCEL_AFTER_S)
        for task in pending:
            _LOGGER.debug("Task %s ignored its cancellation; cancelling it again", task)
    for task in given:
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.warning(
                "Background task %s had failed", task.get_name(), exc_info=task.exception()
            )


async def async_wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds have passed; return whether it is.

    A cancellation arriving with the wake-up still cancels (``wait_for`` would lose it).
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    return event.is_set()
