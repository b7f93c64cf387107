"""Remote access as a whole: the owner's sharing, the store session, the uplink.

One loop compares what should be with what is, on every change of sharing and every few
seconds: remote access on, the hub linked and people known → the uplink runs and the store
knows the members (their store subjects); off → the uplink is stopped, the retained
snapshot cleared and the store told (``enabled: false``). Browsers of people no longer on
the hub are removed from the key store, which rotates the household key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

import aiohttp

from ethos.tasks import async_cancel_and_wait
from hub.core.callback import callback
from hub.integrations.ethos_cloud.client import CloudError, EthosCloudClient
from hub.integrations.ethos_cloud.const import DATA_CLOUD_URL
from hub.integrations.ethos_cloud.const import DOMAIN as CLOUD_DOMAIN
from hub.integrations.ethos_cloud.models import RemoteHubSession
from hub.integrations.ethos_cloud.runtime import CloudRuntime, cloud_runtime
from hub.integrations.ethos_remote.const import (
    DATA_MEMBERS,
    RECONCILE_INTERVAL_S,
    STORE_RETRY_S,
    TOKEN_REFRESH_MARGIN_S,
)
from hub.integrations.ethos_remote.sharing import Sharing

if TYPE_CHECKING:
    from hub.core.hub import Hub
    from hub.integrations.ethos_remote.members import Members
    from hub.integrations.ethos_remote.pairing import RemotePairing
    from hub.integrations.ethos_remote.uplink import Uplink

_LOGGER = logging.getLogger(__name__)


class RemoteAccess:
    """Started by the integration's setup; ``hub.data[DATA_REMOTE]``."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._http: aiohttp.ClientSession | None = None  # while the loop runs
        # The key store and pairing, loaded on first need (once linked: an unlinked hub
        # loads no cryptography).
        self._keys: RemotePairing | None = None
        self._keys_lock = asyncio.Lock()
        self.sharing = Sharing(hub.storage)
        self.uplink: Uplink | None = None
        self.reconcile_interval = RECONCILE_INTERVAL_S
        self.problem: str | None = None  # the last thing that went wrong with the store
        self._session: RemoteHubSession | None = None
        self._session_until = 0.0  # monotonic
        self._told: tuple[str, ...] | None = None  # members the store last heard of
        self._retry_store_at = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def async_load(self) -> None:
        await self.sharing.async_load()
        self.sharing.async_listen(self._on_sharing_changed)

    async def async_keys(self) -> RemotePairing:
        """The household key's store and the pairing of browsers (loaded once)."""
        async with self._keys_lock:
            if self._keys is None:
                from hub.helpers.secret_box import async_secret_box
                from hub.integrations.ethos_remote.keystore import RemoteKeyStore
                from hub.integrations.ethos_remote.pairing import RemotePairing

                keystore = RemoteKeyStore(self._hub.storage, await async_secret_box(self._hub))
                await keystore.async_load()
                self._keys = RemotePairing(keystore)
                self._keys.add_rotation_listener(self._on_rotation)
            return self._keys

    def _on_rotation(self, _key: object) -> None:
        if self.uplink is not None:
            self.uplink.async_share_changed()  # the snapshot again, under the new key

    @callback
    def async_start(self) -> None:
        """Once the hub runs (its entries, the store link among them, are set up)."""
        if self._task is None:
            self._task = self._hub.async_create_task(self._async_loop(), "remote access")

    async def async_stop(self) -> None:
        task, self._task = self._task, None
        await async_cancel_and_wait(*([task] if task else []))

    @callback
    def _on_sharing_changed(self) -> None:
        if self.uplink is not None:
            self.uplink.async_share_changed()  # the snapshot now lists what is shared now
        self.async_wake()

    @callback
    def async_wake(self) -> None:
        """Look again now (sharing or the people changed)."""
        self._wake.set()

    @property
    def status(self) -> str:
        if not self.sharing.enabled:
            return "off"
        if self.uplink is None:
            return "waiting"
        if self.uplink.stopped_reason is not None:
            return "unlinked"
        return "connected" if self.uplink.connected.is_set() else "connecting"

    # The loop ----------------------------------------------------------------------
    async def _async_loop(self) -> None:
        """A hub task: cancelled when the hub stops, which ends the uplink with it."""
        self._http = aiohttp.ClientSession()
        try:
            while True:
                self._wake.clear()
                try:
                    await self.async_reconcile()
                except Exception:
                    _LOGGER.exception("Remote access could not be brought up to date")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.reconcile_interval):
                        await self._wake.wait()
        finally:
            uplink, self.uplink = self.uplink, None
            if uplink is not None:
                await uplink.async_stop()
            http, self._http = self._http, None
            await http.close()

    def _members(self) -> Members | None:
        return self._hub.data.get(DATA_MEMBERS)

    @staticmethod
    def _linked(runtime: CloudRuntime | None) -> bool:
        return runtime is not None and bool(runtime.client_id and runtime.client_secret)

    async def async_reconcile(self) -> None:
        runtime = cloud_runtime(self._hub)
        members = self._members()
        if members is not None and self._linked(runtime):
            assert runtime is not None
            await self._async_forget_removed_people(
                runtime.client_id, members, await self.async_keys()
            )
        wanted = self.sharing.enabled and members is not None and self._linked(runtime)
        uplink = self.uplink
        if uplink is not None and (
            not wanted or runtime is None or uplink.hub_id != runtime.client_id
        ):
            self.uplink = None
            await uplink.async_stop(clear=not self.sharing.enabled)
            self._session, self._told = None, None
        if not wanted:
            if runtime is not None and self._linked(runtime) and not self.sharing.enabled:
                await self._async_tell_store_off(runtime)
            return
        assert runtime is not None and members is not None
        if self.uplink is None:
            from hub.integrations.ethos_remote.commands import CommandGate
            from hub.integrations.ethos_remote.uplink import Uplink

            keys = await self.async_keys()
            gate = CommandGate(self._hub, self.sharing, members, keys)
            self.uplink = Uplink(
                self._hub, runtime.client_id, self.sharing, gate, keys, self.async_session
            )
            self.uplink.async_start()
        elif self._subjects(members) != self._told and time.monotonic() >= self._retry_store_at:
            with contextlib.suppress(CloudError):
                await self.async_session(True)  # the store learns who may come in now

    async def _async_forget_removed_people(
        self, hub_id: str, members: Members, keys: RemotePairing
    ) -> None:
        present = {m.user_id for m in members.members()}
        if not present:
            return  # a hub always has its owner: no people means they are not known yet
        gone = {b.user_id for b in keys.browsers() if b.user_id not in present}
        for user_id in sorted(gone):
            _LOGGER.info(
                "Hub user %s is gone: their browsers are removed, the key rotated", user_id
            )
            messages = await keys.async_remove_user(hub_id, user_id)
            if self.uplink is not None:
                await self.uplink.async_publish_all(list(messages or []))
                self.uplink.async_share_changed()

    async def async_remove_browser(self, hub_id: str, browser_id: str) -> None:
        """Forget a paired browser: the household key rotates, its keys topic is cleared."""
        keys = await self.async_keys()
        messages = await keys.async_remove_browser(hub_id, browser_id)
        if self.uplink is not None:
            await self.uplink.async_publish_all(list(messages or []))
            self.uplink.async_share_changed()

    @staticmethod
    def _subjects(members: Members) -> tuple[str, ...]:
        return tuple(sorted({m.subject for m in members.members()}))

    # The store -----------------------------------------------------------------------
    def _client(self) -> EthosCloudClient:
        if self._http is None:
            raise CloudError("remote access is not running")
        entry = self._hub.config_entries.loaded_entry(CLOUD_DOMAIN)
        url = entry.data.get(DATA_CLOUD_URL) if entry is not None else None
        return EthosCloudClient(self._http, url or self._hub.config.cloud_url)

    async def async_session(self, fresh: bool = False) -> RemoteHubSession:
        """The current broker session; a new one from the store when asked, when the token
        is about to expire or when the members changed. Raises CloudError."""
        runtime, members = cloud_runtime(self._hub), self._members()
        if runtime is None or not runtime.client_secret or members is None:
            raise CloudError("the hub is not linked to a store account")
        subjects = self._subjects(members)
        current = self._session
        if (
            not fresh
            and current is not None
            and subjects == self._told
            and time.monotonic() < self._session_until - TOKEN_REFRESH_MARGIN_S
        ):
            return current
        try:
            session = await self._client().async_remote_hub_session(
                runtime.client_id, runtime.client_secret, enabled=True, members=list(subjects)
            )
        except CloudError as err:
            self.problem = str(err)
            self._retry_store_at = time.monotonic() + STORE_RETRY_S
            raise
        if not session.enabled:
            self.problem = "the store did not turn remote access on"
            raise CloudError(self.problem)
        self.problem = None
        self._session, self._told = session, subjects
        self._session_until = time.monotonic() + session.expires_in
        await self.sharing.async_set_announced(True)
        return session

    async def _async_tell_store_off(self, runtime: CloudRuntime) -> None:
        if not self.sharing.announced or time.monotonic() < self._retry_store_at:
            return
        try:
            await self._client().async_remote_hub_session(
                runtime.client_id, runtime.client_secret or "", enabled=False, members=[]
            )
        except CloudError as err:
            self.problem = str(err)
            self._retry_store_at = time.monotonic() + STORE_RETRY_S
            _LOGGER.warning("The store was not told that remote access is off: %s", err)
            return
        self.problem = None
        await self.sharing.async_set_announced(False)
