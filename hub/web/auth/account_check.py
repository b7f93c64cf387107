"""Does the store still let each person in? Their sessions end when it says no.

At sign-in the hub keeps the person's refresh token, sealed with the hub's ``SecretBox``.
A session used ``interval`` after the last check (and a sweep as often) spends that token
once at the store: a new token means yes; ``invalid_grant`` (the person reset their
password, or revoked the hub's access) ends every session and the offline credential of
that person. A store that cannot be reached changes nothing: it is asked again later.

The store rotates refresh tokens on each use and revokes the whole family when a spent
one comes back, so one lock per person makes sure two requests never spend the same token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from hub.core.callback import callback
from hub.helpers.secret_box import SecretBox, SecretUnreadable
from hub.web.auth.const import ACCOUNT_CHECK_RETRY_S
from hub.web.auth.models import HubUserGrantRow
from hub.web.auth.oidc import GrantRevoked, OidcRelyingParty, ProviderUnreachable, SignInFailed
from hub.web.auth.store import AuthStore

_LOGGER = logging.getLogger(__name__)
MIN_SWEEP_S = 60.0


class AccountChecker:
    """Keeps each person's grant and asks the store about it when a check is due."""

    def __init__(
        self,
        auth: AuthStore,
        interval: timedelta,
        secret_box: Callable[[], Awaitable[SecretBox]],
        relying_party: Callable[[], OidcRelyingParty],
        on_ended: Callable[[int], None] = lambda _user_id: None,
    ) -> None:
        self._auth = auth
        self._on_ended = on_ended
        self.interval = interval
        self._secret_box = secret_box
        self._relying_party = relying_party
        self._locks: dict[int, asyncio.Lock] = {}
        self._not_before: dict[int, float] = {}  # monotonic: no check for this user until then
        self._sweeper: asyncio.Task[None] | None = None

    def _lock(self, user_id: int) -> asyncio.Lock:
        return self._locks.setdefault(user_id, asyncio.Lock())

    def _defer(self, user_id: int, seconds: float) -> None:
        self._not_before[user_id] = time.monotonic() + seconds

    async def async_remember(self, user_id: int, client_id: str, refresh_token: str | None) -> None:
        """Keep the grant of a sign-in that just happened (it replaces any older one)."""
        box = await self._secret_box() if refresh_token else None
        async with self._lock(user_id):
            grants = self._auth.grants
            if refresh_token is None or box is None:
                # This sign-in's client gives no refresh tokens: nothing to check with.
                if grants.pop(user_id, None) is not None:
                    await self._auth.async_save()
            else:
                grants[user_id] = HubUserGrantRow(
                    user_id=user_id,
                    client_id=client_id,
                    refresh_token_sealed=box.seal(refresh_token),
                )
                await self._auth.async_save()
            self._defer(user_id, self.interval.total_seconds())

    async def async_still_admitted(self, user_id: int) -> bool:
        """False when the store took this person's access back (their sessions are over)."""
        if time.monotonic() < self._not_before.get(user_id, 0.0):
            return True
        return await self.async_check(user_id)

    async def async_check(self, user_id: int) -> bool:
        async with self._lock(user_id):
            grant = self._auth.grants.get(user_id)
            if grant is None:  # signed in before grants were kept, or no refresh token
                self._defer(user_id, self.interval.total_seconds())
                return True
            due_at = grant.checked_at + self.interval
            if due_at > datetime.now(UTC):
                self._defer(user_id, (due_at - datetime.now(UTC)).total_seconds())
                return True
            return await self._async_spend(grant)

    async def _async_spend(self, grant: HubUserGrantRow) -> bool:
        user_id = grant.user_id
        relying_party = self._relying_party()
        if grant.client_id != relying_party.client_id:
            # The hub was linked again since: the old client's token cannot be checked.
            return await self._async_end(user_id, "signed in through an earlier link")
        box = await self._secret_box()
        try:
            token = box.open(grant.refresh_token_sealed)
        except SecretUnreadable:
            return await self._async_end(user_id, "the kept grant cannot be read")
        try:
            new_token = await relying_party.async_refresh(token)
        except GrantRevoked as err:
            return await self._async_end(user_id, f"the store refused the grant ({err})")
        except (ProviderUnreachable, SignInFailed) as err:
            _LOGGER.info("Could not check hub user %s at the store: %s", user_id, err)
            self._defer(user_id, ACCOUNT_CHECK_RETRY_S)
            return True
        if new_token:
            grant.refresh_token_sealed = box.seal(new_token)
            grant.checked_at = datetime.now(UTC)
        else:  # spent and not replaced: nothing left to check with
            self._auth.grants.pop(user_id, None)
        # The old token is spent: only the new one may be used again, even after a restart.
        await self._auth.async_save()
        self._defer(user_id, self.interval.total_seconds())
        return True

    async def _async_end(self, user_id: int, reason: str) -> bool:
        ended = self._auth.end_access(user_id)
        await self._auth.async_save()
        self._not_before.pop(user_id, None)
        self._on_ended(user_id)
        _LOGGER.warning("Hub user %s signed out (%s sessions): %s", user_id, ended, reason)
        return False

    def forget(self, user_id: int) -> None:
        """The person was removed from the hub."""
        self._not_before.pop(user_id, None)
        self._on_ended(user_id)

    # The sweep: people who do not come back are checked too (their offline credential).
    async def async_check_due(self) -> None:
        cutoff = datetime.now(UTC) - self.interval
        due = [g.user_id for g in self._auth.grants.values() if g.checked_at <= cutoff]
        for user_id in due:
            await self.async_check(user_id)

    @callback
    def async_start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(
            self._async_sweep(), name="hub account checks"
        )

    async def async_stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def _async_sweep(self) -> None:
        while True:
            await asyncio.sleep(max(self.interval.total_seconds(), MIN_SWEEP_S))
            try:
                await self.async_check_due()
            except Exception:
                _LOGGER.exception("Checking hub users at the store failed")
