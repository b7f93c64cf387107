"""Remote access on the running app: the broker's management client, closing connections
whose rights ended (right after the change commits) and the sweep that catches the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.remote.broker_admin import BrokerAdmin, NoBroker
from cloud.remote.const import RELIST_SECONDS, SWEEP_SECONDS
from cloud.remote.service import entitled_subjects
from cloud.remote.settings import RemoteSettings
from ethos.tasks import async_cancel_and_wait

_LOGGER = logging.getLogger(__name__)


@dataclass
class RemoteRuntime:
    settings: RemoteSettings
    admin: BrokerAdmin = field(default_factory=NoBroker)  # set at start-up (or by a test)
    sweep_seconds: float = SWEEP_SECONDS
    relist_seconds: tuple[float, ...] = RELIST_SECONDS
    _pending: set[asyncio.Task[None]] = field(default_factory=set)

    async def async_disconnect(self, subjects: Iterable[str]) -> None:
        """Close the connections of `subjects` now; a failure is logged (the sweep retries)."""
        for subject in sorted(subjects):
            try:
                await self.admin.async_disconnect(subject)
            except Exception:  # the broker being away must not fail the store's answer
                _LOGGER.exception("could not close the broker connections of %s", subject)

    async def async_revoke(self, subjects: Iterable[str]) -> None:
        """Rights ended: close the subjects' connections now, and again once the broker
        lists the connections made a moment ago (those passes run in the background)."""
        wanted = set(subjects)
        if not wanted:
            return
        await self.async_disconnect(wanted)
        if self.relist_seconds:
            self._track(self._async_disconnect_later(wanted))

    async def _async_disconnect_later(self, subjects: set[str]) -> None:
        waited = 0.0
        for delay in self.relist_seconds:
            await asyncio.sleep(delay - waited)
            waited = delay
            await self.async_disconnect(subjects)

    def _track(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def disconnect_after_commit(self, session: AsyncSession, subjects: Iterable[str]) -> None:
        """Revoke once `session`'s transaction commits (never if it rolls back): for
        changes made where the caller cannot wait, such as account deletion."""
        wanted = set(subjects)
        if not wanted:
            return

        def committed(_session: object) -> None:
            self._track(self.async_revoke(wanted))

        event.listen(session.sync_session, "after_commit", committed, once=True)

    async def async_idle(self) -> None:
        """Wait for the closing started after commits (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def async_sweep_once(self, sessions: async_sessionmaker[AsyncSession]) -> set[str]:
        """Close the connections of subjects no longer entitled; returns them."""
        connected = set(await self.admin.async_connected_subjects())
        if not connected:
            return set()
        async with sessions() as session:
            stale = connected - await entitled_subjects(session, connected)
        if stale:
            _LOGGER.info("sweep: closing %s broker connections without rights", len(stale))
            await self.async_disconnect(stale)
        return stale

    async def async_sweep_forever(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """The once-only job: a sweep every `sweep_seconds`, surviving failures."""
        while True:
            try:
                await self.async_sweep_once(sessions)
            except Exception:  # the broker or database away: try again next round
                _LOGGER.exception("remote-access sweep failed; trying again")
            await asyncio.sleep(self.sweep_seconds)

    async def async_close(self) -> None:
        # Closing still under way is dropped: the next sweep, on any replica, redoes it.
        await async_cancel_and_wait(*self._pending)


REMOTE: web.AppKey[RemoteRuntime] = web.AppKey("remote_runtime", RemoteRuntime)
