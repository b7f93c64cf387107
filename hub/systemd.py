"""Tell systemd how the hub is doing (``Type=notify`` with ``WatchdogSec``).

The notification protocol is one datagram of ``KEY=value`` lines sent to the unix socket
named by ``$NOTIFY_SOCKET`` (a leading ``@`` names a socket in the abstract namespace).
The hub says READY=1 once its web server listens, WATCHDOG=1 at half the interval systemd
gives in ``$WATCHDOG_USEC`` (from the event loop, so a stuck loop stops the pings and
systemd restarts the hub), and STOPPING=1 when it begins to stop. Without systemd
(``$NOTIFY_SOCKET`` unset) every call does nothing. Standard library only: no libsystemd.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping

_LOGGER = logging.getLogger(__name__)

ENV_NOTIFY_SOCKET = "NOTIFY_SOCKET"
ENV_WATCHDOG_USEC = "WATCHDOG_USEC"
ENV_WATCHDOG_PID = "WATCHDOG_PID"

READY = "READY=1"
STOPPING = "STOPPING=1"
WATCHDOG = "WATCHDOG=1"


def notify_address(environ: Mapping[str, str]) -> str | bytes | None:
    """The socket address from ``$NOTIFY_SOCKET``: a path, or bytes for an abstract socket."""
    name = environ.get(ENV_NOTIFY_SOCKET, "")
    if not name:
        return None
    if name.startswith("@"):
        return b"\0" + name[1:].encode()
    if name.startswith("/"):
        return name
    _LOGGER.warning("ignoring %s=%r: neither a path nor an abstract name", ENV_NOTIFY_SOCKET, name)
    return None


def watchdog_interval(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds between two watchdog pings (half systemd's timeout), or None when systemd
    watches no watchdog of this process."""
    usec = environ.get(ENV_WATCHDOG_USEC, "")
    watched_pid = environ.get(ENV_WATCHDOG_PID, "")
    if watched_pid and watched_pid != str(pid):
        return None  # meant for another process (the one that started us)
    try:
        timeout_us = int(usec)
    except ValueError:
        return None
    if timeout_us <= 0:
        return None
    return timeout_us / 2 / 1_000_000


class SystemdNotifier:
    """Sends the hub's state to systemd; a no-op when the hub is not run by systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        self.address = notify_address(environ)
        self.watchdog_interval = watchdog_interval(environ, os.getpid())
        self._watchdog_task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *messages: str) -> bool:
        """Send one datagram holding ``messages``; False (and a warning) if it failed."""
        if self.address is None:
            return False
        payload = "\n".join(messages).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(payload, self.address)
        except OSError as err:
            _LOGGER.warning("could not tell systemd %s: %s", messages, err)
            return False
        return True

    def ready(self) -> None:
        """The web server listens: tell systemd, and start the watchdog pings."""
        self.notify(READY, "STATUS=Serving")
        if self.enabled and self.watchdog_interval is not None and self._watchdog_task is None:
            self._watchdog_task = asyncio.get_running_loop().create_task(
                self._async_ping_watchdog(self.watchdog_interval), name="systemd watchdog"
            )

    def stopping(self) -> None:
        """The hub begins to stop: systemd should not take silence for a hang."""
        self.notify(STOPPING, "STATUS=Stopping")
        if self._watchdog_task is not None:
            self._watchdog_task.cancel()
            self._watchdog_task = None

    async def _async_ping_watchdog(self, interval: float) -> None:
        while True:
            self.notify(WATCHDOG)
            await asyncio.sleep(interval)

    async def async_close(self) -> None:
        """Stop the watchdog pings (and wait for their task to end)."""
        task, self._watchdog_task = self._watchdog_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
