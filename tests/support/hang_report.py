"""Say where a hanging test hangs: its asyncio tasks, not only the thread stacks.

pytest-timeout fails a test that runs past ``timeout`` and prints every thread's stack.
For an asyncio test that stack ends in ``select()``; what waits forever is a task. So a
little before pytest-timeout fires, this plugin prints the stack of every task of the loop
the main thread is running. Registered from ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
import traceback
from types import FrameType
from typing import Any

import pytest

REPORT_BEFORE_TIMEOUT_S = 15.0
_timers: dict[str, threading.Timer] = {}


def _running_loop_of(frame: FrameType | None) -> asyncio.AbstractEventLoop | None:
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, asyncio.AbstractEventLoop) and candidate.is_running():
            return candidate
        frame = frame.f_back
    return None


def _running_async_generator(frame: FrameType) -> Any:
    """The generator an ``asend`` object drives (it keeps no link to it): found by the
    frame that awaits it, e.g. ``contextlib``'s ``self.gen``."""
    owner = frame.f_locals.get("self")
    for value in (*frame.f_locals.values(), getattr(owner, "gen", None)):
        if inspect.isasyncgen(value) and value.ag_running:
            return value
    return None


def report_tasks(nodeid: str) -> None:
    out = sys.__stderr__
    assert out is not None
    main = threading.main_thread().ident
    loop = _running_loop_of(sys._current_frames().get(main or 0))
    print(f"\n+++ {nodeid} is still running; its asyncio tasks:", file=out)
    if loop is None:
        print("(the main thread is not running an event loop)", file=out)
        return
    for _attempt in range(3):  # the set may change under us: the loop thread is alive
        try:
            tasks = list(asyncio.all_tasks(loop))
            break
        except RuntimeError:
            continue
    else:
        return
    for task in tasks:
        print(f"--- {task.get_name()}", file=out)
        awaited: Any = task.get_coro()
        while awaited is not None:  # the await chain, outermost first
            frame = next(
                (getattr(awaited, a) for a in ("cr_frame", "gi_frame", "ag_frame")
                 if getattr(awaited, a, None) is not None),
                None,
            )  # fmt: skip
            if frame is None:
                print(f"    waits on {awaited!r}", file=out)
                break
            traceback.print_stack(frame, limit=1, file=out)
            awaited = next(
                (getattr(awaited, a) for a in ("cr_await", "gi_yieldfrom", "ag_await")
                 if getattr(awaited, a, None) is not None),
                None,
            )  # fmt: skip
            if type(awaited).__name__ in ("async_generator_asend", "async_generator_athrow"):
                awaited = _running_async_generator(frame) or awaited
    out.flush()


@pytest.hookimpl
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> None:
    timeout = getattr(settings, "timeout", 0) or 0
    if timeout <= REPORT_BEFORE_TIMEOUT_S:
        return
    timer = threading.Timer(timeout - REPORT_BEFORE_TIMEOUT_S, report_tasks, (item.nodeid,))
    timer.daemon = True
    timer.start()
    _timers[item.nodeid] = timer


@pytest.hookimpl
def pytest_timeout_cancel_timer(item: pytest.Item) -> None:
    timer = _timers.pop(item.nodeid, None)
    if timer is not None:
        timer.cancel()
