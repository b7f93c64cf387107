"""Serve the hub's web app until SIGTERM or SIGINT, telling systemd when it listens.

``aiohttp.web.run_app`` cannot say when its sites listen; systemd's ``Type=notify`` needs
exactly that moment for READY=1 (see :mod:`hub.systemd`), so the runner is driven here.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from hub.systemd import SystemdNotifier

_LOGGER = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def async_serve(
    app: web.Application, host: str, port: int, notifier: SystemdNotifier
) -> None:
    """Start ``app`` (its startup hooks, then the listening socket), say READY=1, and run
    until a stop signal; then say STOPPING=1 and clean up (the hub stops gracefully)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(app, handle_signals=False)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        _LOGGER.info("hub listening on http://%s:%s", host, port)
        notifier.ready()
        await stop.wait()
        notifier.stopping()
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        await notifier.async_close()
        await runner.cleanup()
