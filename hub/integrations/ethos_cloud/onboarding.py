"""Linking the hub to a store account: device authorization grant, then self-registration.

1. The hub asks the store for a device code (client ``ethos-hub-setup``, RFC 8628) and
   shows the user code and a QR code of the verification URI.
2. The owner approves in the store; the hub's next poll gets tokens.
3. With that onboarding token the hub registers itself as a confidential client
   (RFC 7591), so people can sign in to the hub with their store accounts.
4. The refresh token and the client secret are sealed (``SecretBox``) into the
   ``ethos_cloud`` config entry; linking again updates the same entry (nothing else is lost).
5. ``on_linked`` is told which store account approved: the web UI makes it the hub's
   owner (and anyone who owned the hub before a member).

Polling happens when the link page asks (it refreshes itself while waiting), never faster
than the store's interval, so no background task outlives a tab nobody looks at.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.integrations.ethos_cloud.client import (
    CloudAuthError,
    CloudError,
    EthosCloudClient,
    PendingApproval,
)
from hub.integrations.ethos_cloud.const import (
    DATA_ACCOUNT_EMAIL,
    DATA_ACCOUNT_SUBJECT,
    DATA_CLIENT_ID,
    DATA_CLIENT_SECRET,
    DATA_CLOUD_URL,
    DATA_ETAG,
    DATA_OWNED,
    DATA_REDIRECT_URI,
    DATA_REFRESH_TOKEN,
    DATA_SYNCED_AT,
    DOMAIN,
    ONBOARDING_SCOPE,
    SETUP_CLIENT_ID,
)
from hub.integrations.ethos_cloud.models import DeviceAuthorization, RegisteredClient

if TYPE_CHECKING:
    from hub.core.config_entries import ConfigEntry
    from hub.core.hub import Hub
    from hub.helpers.secret_box import SecretBox

_LOGGER = logging.getLogger(__name__)
SLOW_DOWN_STEP_S = 5.0


class LinkState(enum.StrEnum):
    IDLE = "idle"
    WAITING = "waiting"  # the code is shown; the owner has not approved yet
    LINKED = "linked"
    FAILED = "failed"  # refused, expired or the store failed; `problem` says which


@dataclass(frozen=True)
class LinkResult:
    entry: ConfigEntry
    client: RegisteredClient
    redirect_uri: str
    email: str | None
    subject: str = ""  # the store account that approved
    name: str | None = None


class LinkFlow:
    """One linking attempt at a time; the web page drives it."""

    def __init__(
        self,
        hub: Hub,
        client: EthosCloudClient,
        box: SecretBox,
        on_linked: Callable[[LinkResult], Awaitable[None]] | None = None,
    ) -> None:
        self._hub = hub
        self._client = client
        self._box = box
        self._on_linked = on_linked
        self.state = LinkState.IDLE
        self.problem: str | None = None
        self.authorization: DeviceAuthorization | None = None
        self.result: LinkResult | None = None
        self._interval = 5.0
        self._next_poll = 0.0
        self._expires = 0.0

    async def async_start(self) -> DeviceAuthorization:
        """Ask the store for a new code (a previous unfinished one is dropped)."""
        self.result, self.problem = None, None
        try:
            authorization = await self._client.async_start_device_authorization(
                SETUP_CLIENT_ID, ONBOARDING_SCOPE
            )
        except CloudError as err:
            self.state, self.problem = LinkState.FAILED, str(err)
            raise
        now = time.monotonic()
        self.authorization = authorization
        self._interval = float(max(authorization.interval, 1))
        self._next_poll = now + self._interval
        self._expires = now + authorization.expires_in
        self.state = LinkState.WAITING
        return authorization

    def poll_due(self) -> bool:
        return self.state is LinkState.WAITING and time.monotonic() >= self._next_poll

    async def async_poll(self, redirect_uri: str, hub_name: str) -> LinkState:
        """Ask the store once whether the owner approved; finish the link when they did."""
        if self.state is not LinkState.WAITING or self.authorization is None:
            return self.state
        if time.monotonic() > self._expires:
            self.state, self.problem = LinkState.FAILED, "the code expired; start again"
            return self.state
        self._next_poll = time.monotonic() + self._interval
        try:
            tokens = await self._client.async_poll_device_token(
                SETUP_CLIENT_ID, self.authorization.device_code
            )
        except PendingApproval as pending:
            if pending.slow_down:
                self._interval += SLOW_DOWN_STEP_S
                self._next_poll = time.monotonic() + self._interval
            return self.state
        except CloudAuthError as err:
            self.state, self.problem = LinkState.FAILED, str(err)
            return self.state
        except CloudError as err:
            # Unreachable or garbage: keep the code, try again on the next poll.
            self.problem = str(err)
            return self.state
        try:
            if not tokens.refresh_token:
                raise CloudAuthError("the store issued no refresh token")
            registered = await self._client.async_register_hub(
                tokens.access_token, hub_name, redirect_uri
            )
            info = await self._client.async_userinfo(tokens.access_token)
        except CloudError as err:
            self.state, self.problem = LinkState.FAILED, str(err)
            return self.state
        email = info.get("email") if isinstance(info.get("email"), str) else None
        name = info.get("name") or info.get("preferred_username")
        entry = await self._async_save(tokens.refresh_token, registered, redirect_uri, info, email)
        self.result = LinkResult(
            entry, registered, redirect_uri, email, str(info["sub"]),
            name if isinstance(name, str) else None,
        )  # fmt: skip
        self.state, self.problem, self.authorization = LinkState.LINKED, None, None
        _LOGGER.info("Hub linked to the store account %s", email or info["sub"])
        if self._on_linked is not None:
            await self._on_linked(self.result)
        return self.state

    async def _async_save(
        self,
        refresh_token: str,
        registered: RegisteredClient,
        redirect_uri: str,
        info: dict[str, object],
        email: str | None,
    ) -> ConfigEntry:
        data = {
            DATA_CLOUD_URL: self._client.base_url,
            DATA_CLIENT_ID: registered.client_id,
            DATA_CLIENT_SECRET: self._box.seal(registered.client_secret),
            DATA_REDIRECT_URI: redirect_uri,
            DATA_REFRESH_TOKEN: self._box.seal(refresh_token),
            DATA_ACCOUNT_SUBJECT: str(info["sub"]),
            DATA_ACCOUNT_EMAIL: email,
        }
        entries = self._hub.config_entries
        existing = entries.async_entries(DOMAIN)
        if not existing:
            return await entries.async_add(DOMAIN, email or "Ethos store account", data)
        entry = existing[0]
        await entries.async_unload(entry.entry_id)
        # Settings put on the entry (poll interval...) stay; so does the cached device list
        # when the same account links again. Another account's list does not.
        same_account = entry.data.get(DATA_ACCOUNT_SUBJECT) == str(info["sub"])
        cached = (DATA_OWNED, DATA_ETAG, DATA_SYNCED_AT) if same_account else ()
        kept = {k: v for k, v in entry.data.items() if k.endswith("_s") or k in cached}
        await entries.async_update_data(entry, {**kept, **data})
        entry.title = email or entry.title
        await entries.async_setup(entry.entry_id)
        return entry
