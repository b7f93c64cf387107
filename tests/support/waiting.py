"""Waiting in a test for what crosses a real socket, broker or process, so is not instant."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

POLL_S = 0.01


async def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll until ``predicate()`` holds; fail the test once ``timeout`` seconds have passed."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(POLL_S)
