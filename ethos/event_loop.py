"""The event loop servers run on: uvloop where it is installed, asyncio's own otherwise.

uvloop (libuv) answers the same aiohttp requests with noticeably less CPU per request on
this kind of machine (measured by benchmarks/checkout_latency.py), and behaves as asyncio's
loop for everything the store and the BTCPay simulator use.
"""

from __future__ import annotations

import asyncio
import logging

_LOGGER = logging.getLogger(__name__)


def new_server_loop() -> asyncio.AbstractEventLoop:
    """A new event loop for a long-running server process."""
    try:
        import uvloop
    except ImportError:  # not built for this platform: asyncio's loop works the same
        _LOGGER.debug("uvloop not installed; using asyncio's event loop")
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
