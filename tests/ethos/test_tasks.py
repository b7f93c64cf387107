"""Stopping background tasks: a cancellation a library swallowed is repeated, and our own
waits keep a cancellation that arrives with the wake-up."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ethos.tasks import async_cancel_and_wait, async_wait_event


async def _loop_that_swallows_one_cancel(rounds: list[str]) -> None:
    """Behaves like a loop over aiomqtt calls on Python 3.11: one cancel is lost."""
    swallowed = False
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed = True  # what 3.11's wait_for does when the awaited result lands too
            rounds.append("went on")


async def test_a_task_that_swallowed_its_cancellation_is_cancelled_again() -> None:
    rounds: list[str] = []
    task = asyncio.create_task(_loop_that_swallows_one_cancel(rounds))
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await async_cancel_and_wait(task)
    assert task.cancelled()
    assert rounds == ["went on"]  # the first request really was lost


async def test_finished_failed_and_missing_tasks_are_fine(caplog: pytest.LogCaptureFixture) -> None:
    async def fail() -> None:
        raise RuntimeError("broken pipe to nowhere")

    async def finish() -> str:
        return "done"

    failed, finished = asyncio.create_task(fail(), name="doomed"), asyncio.create_task(finish())
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="ethos.tasks"):
        await async_cancel_and_wait(failed, finished, None)
    assert finished.result() == "done"
    assert [r.getMessage() for r in caplog.records] == ["Background task doomed had failed"]
    assert "broken pipe to nowhere" in caplog.text


async def test_waiting_for_an_event_says_whether_it_came() -> None:
    event = asyncio.Event()
    assert await async_wait_event(event, 0.05) is False
    event.set()
    assert await async_wait_event(event, 0.05) is True


async def test_a_cancel_arriving_with_the_wake_up_still_cancels() -> None:
    event = asyncio.Event()
    waiter = asyncio.create_task(async_wait_event(event, 3600))
    await asyncio.sleep(0)
    event.set()
    waiter.cancel()  # the same step: asyncio.wait_for on Python 3.11 would return True here
    done, _ = await asyncio.wait({waiter}, timeout=5)
    assert waiter in done and waiter.cancelled()
