"""The account's owned devices, kept in sync with the store and cached (encrypted) locally.

Why polling with an ETag rather than a push channel: the store's devices endpoint is plain
HTTP behind the OIDC bearer token, a push channel would need a long-lived connection per
hub through home routers, and a 30 s poll answered by ``304 Not Modified`` costs a few
hundred bytes. That bounds "bought → visible in the hub" by the poll interval (30 s < 60 s).
While the store is unreachable or answers garbage the cached list stays in force; the next
successful poll catches up. A refused refresh token (expired, revoked) stops the polling and
asks the owner to link again; nothing local is removed.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ethos.tasks import async_cancel_and_wait, async_wait_event
from hub.core.callback import callback
from hub.helpers.secret_box import SecretBox, SecretUnreadable
from hub.integrations.ethos_cloud.client import (
    CloudAuthError,
    CloudError,
    CloudUnreachable,
    EthosCloudClient,
)
from hub.integrations.ethos_cloud.const import (
    DATA_ACCOUNT_EMAIL,
    DATA_ETAG,
    DATA_OWNED,
    DATA_POLL_INTERVAL,
    DATA_REFRESH_TOKEN,
    DATA_SYNCED_AT,
    POLL_INTERVAL_S,
    SETUP_CLIENT_ID,
    SYNC_SCOPE,
    TOKEN_EXPIRY_MARGIN_S,
)
from hub.integrations.ethos_cloud.models import OwnedDevice, owned_devices_from_json

if TYPE_CHECKING:
    from hub.core.config_entries import ConfigEntry
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)


class SyncStatus(enum.StrEnum):
    STARTING = "starting"
    OK = "ok"
    UNREACHABLE = "unreachable"  # using the cache, retrying
    STORE_ERROR = "store_error"  # the store answered garbage; using the cache, retrying
    RELINK_REQUIRED = "relink_required"  # the grant is gone: the owner must link again


class OwnedDevicesSync:
    """Polls ``/api/v1/me/devices`` with If-None-Match; tells listeners when the set changes."""

    def __init__(
        self, hub: Hub, entry: ConfigEntry, client: EthosCloudClient, box: SecretBox
    ) -> None:
        self._hub = hub
        self._entry = entry
        self._client = client
        self._box = box
        self.interval = float(entry.data.get(DATA_POLL_INTERVAL, POLL_INTERVAL_S))
        self.status = SyncStatus.STARTING
        self.problem: str | None = None
        self.owned: dict[str, OwnedDevice] = {}
        self.synced_at: datetime | None = None
        self._etag: str | None = entry.data.get(DATA_ETAG)
        self._access_token: str | None = None
        self._access_expires = 0.0
        self._listeners: list[Callable[[], None]] = []
        self._wake = asyncio.Event()
        self._round = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._load_cache()

    @property
    def knows_owned(self) -> bool:
        """Whether the owned list came from the store at least once (now or cached)."""
        return self.synced_at is not None

    @property
    def account_email(self) -> str | None:
        return self._entry.data.get(DATA_ACCOUNT_EMAIL)

    def _load_cache(self) -> None:
        sealed = self._entry.data.get(DATA_OWNED)
        if not sealed:
            return
        try:
            devices = owned_devices_from_json(json.loads(self._box.open(sealed)))
        except (SecretUnreadable, ValueError) as err:
            _LOGGER.warning(
                "Cached list of owned devices unusable (%s); waiting for the store", err
            )
            self._etag = None
            return
        self.owned = {d.serial: d for d in devices}
        synced = self._entry.data.get(DATA_SYNCED_AT)
        self.synced_at = datetime.fromisoformat(synced) if synced else None

    # Lifecycle ---------------------------------------------------------------
    @callback
    def async_start(self) -> None:
        self._task = self._hub.async_create_task(self._async_loop(), "ethos_cloud sync")

    async def async_stop(self) -> None:
        await async_cancel_and_wait(self._task)
        self._task = None

    @callback
    def async_listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` whenever the set of owned devices changes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def request_sync(self) -> None:
        """Poll now instead of at the end of the interval (e.g. the owner pressed Refresh)."""
        self._wake.set()

    async def _async_loop(self) -> None:
        while self.status is not SyncStatus.RELINK_REQUIRED:
            await self.async_sync_once()
            self._wake.clear()
            await async_wait_event(self._wake, self.interval)

    # One round ---------------------------------------------------------------
    async def async_sync_once(self) -> bool:
        """Ask the store once; returns whether the owned set changed. Never raises.

        Rounds never overlap: refresh tokens rotate, and a second refresh with the token
        the first one just spent would look like a stolen token to the store."""
        async with self._round:
            return await self._async_sync_once()

    async def _async_sync_once(self) -> bool:
        try:
            changed = await self._async_fetch()
        except CloudAuthError as err:
            self.status, self.problem = SyncStatus.RELINK_REQUIRED, str(err)
            _LOGGER.warning("Ethos store link needs the owner: %s", err)
            return False
        except CloudUnreachable as err:
            self.status, self.problem = SyncStatus.UNREACHABLE, str(err)
            _LOGGER.info("Ethos store unreachable, using cached devices: %s", err)
            return False
        except CloudError as err:
            self.status, self.problem = SyncStatus.STORE_ERROR, str(err)
            _LOGGER.warning("Ethos store answered unusably, using cached devices: %s", err)
            return False
        self.status, self.problem = SyncStatus.OK, None
        return changed

    async def _async_token(self) -> str:
        if self._access_token and time.monotonic() < self._access_expires:
            return self._access_token
        try:
            refresh = self._box.open(self._entry.data[DATA_REFRESH_TOKEN])
        except (KeyError, SecretUnreadable) as err:
            raise CloudAuthError("the hub's stored link cannot be read; link it again") from err
        tokens = await self._client.async_refresh(SETUP_CLIENT_ID, refresh, SYNC_SCOPE)
        if tokens.refresh_token and tokens.refresh_token != refresh:
            # Rotation: the old refresh token is now dead, so save the new one first.
            await self._async_save({DATA_REFRESH_TOKEN: self._box.seal(tokens.refresh_token)})
        self._access_token = tokens.access_token
        self._access_expires = time.monotonic() + tokens.expires_in - TOKEN_EXPIRY_MARGIN_S
        return tokens.access_token

    async def _async_fetch(self) -> bool:
        token = await self._async_token()
        try:
            answer = await self._client.async_owned_devices(token, self._etag)
        except CloudAuthError as err:
            if err.error != "invalid_token":
                raise
            self._access_token = None  # expired early or revoked: one fresh token, then give up
            answer = await self._client.async_owned_devices(await self._async_token(), self._etag)
        first_answer = self.synced_at is None
        self.synced_at = datetime.now(UTC)
        if answer.devices is None:
            return False
        owned = {d.serial: d for d in answer.devices}
        # The first answer counts as a change even when empty: until then nobody may
        # conclude that a device is not owned.
        changed = owned != self.owned or first_answer
        self.owned, self._etag = owned, answer.etag
        plain = json.dumps([d.as_json() for d in answer.devices])
        await self._async_save(
            {
                DATA_OWNED: self._box.seal(plain),
                DATA_ETAG: answer.etag,
                DATA_SYNCED_AT: self.synced_at.isoformat(),
            }
        )
        if changed:
            _LOGGER.info("The linked account owns %d device(s)", len(owned))
            for listener in list(self._listeners):
                listener()
        return changed

    async def _async_save(self, values: dict[str, object]) -> None:
        await self._hub.config_entries.async_update_data(
            self._entry, {**self._entry.data, **values}
        )
