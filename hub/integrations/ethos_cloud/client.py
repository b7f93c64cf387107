"""Typed HTTP client of the Ethos store: device authorization, tokens, registration, devices.

Every failure becomes one of three exceptions, so callers decide by kind, not by status:
``CloudUnreachable`` (network, timeout, 5xx: try again later), ``CloudAuthError`` (the
grant is gone: the owner must link again) and ``CloudProtocolError`` (an answer we cannot use).
It speaks OAuth through the hub's one client (``hub.helpers.oauth_client``): the discovery
document, the token endpoint and every request go through its ``OAuthProvider``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import aiohttp

from hub.helpers.oauth_client import (
    OAuthProvider,
    ProviderAnswerInvalid,
    ProviderUnreachable,
    oauth_error,
)
from hub.integrations.ethos_cloud.const import (
    DEVICE_GRANT,
    HTTP_TIMEOUT_S,
    OWNED_DEVICES_PATH,
    REGISTERED_SCOPE,
    REMOTE_HUB_SESSION_PATH,
)
from hub.integrations.ethos_cloud.models import (
    DeviceAuthorization,
    OwnedDevicesAnswer,
    RegisteredClient,
    RemoteHubSession,
    TokenSet,
    owned_devices_from_json,
)

_LOGGER = logging.getLogger(__name__)


class CloudError(Exception):
    """Base of the store client's errors; the message is fit for the hub's UI."""


class CloudUnreachable(CloudError):
    """Network error, timeout or a 5xx: the store may answer later."""


class CloudAuthError(CloudError):
    """The store refused our grant or token (expired, revoked): link the hub again."""

    def __init__(self, message: str, error: str = "") -> None:
        super().__init__(message)
        self.error = error


class CloudProtocolError(CloudError):
    """The store answered something this hub cannot use (garbage, wrong shape)."""


class PendingApproval(CloudError):
    """Device grant: the owner has not decided yet (``slow_down`` sets ``slow_down``)."""

    def __init__(self, slow_down: bool = False) -> None:
        super().__init__("waiting for the owner to approve")
        self.slow_down = slow_down


@contextmanager
def _cloud_errors() -> Iterator[None]:
    """The OAuth client's errors as this client's kinds, with the messages the UI shows."""
    try:
        yield
    except ProviderUnreachable as err:
        if err.status is not None:
            raise CloudUnreachable(f"the store answered {err.status}") from err
        raise CloudUnreachable(f"the store cannot be reached ({err})") from err
    except ProviderAnswerInvalid as err:
        raise CloudProtocolError(str(err)) from err


class EthosCloudClient:
    """One store, reached through the caller's ``aiohttp.ClientSession``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        provider: OAuthProvider | None = None,
    ) -> None:
        """``provider``: the one sign-in speaks through, to share its discovery document."""
        self.provider = provider or OAuthProvider(session, base_url)
        self.base_url = base_url.rstrip("/")

    # Plumbing -----------------------------------------------------------------
    async def _request(
        self, method: str, url: str, **kwargs: Any
    ) -> tuple[int, dict[str, Any] | list[Any] | None, Mapping[str, str]]:
        with _cloud_errors():
            return await self.provider.async_request(method, url, timeout=HTTP_TIMEOUT_S, **kwargs)

    async def async_metadata(self) -> dict[str, Any]:
        with _cloud_errors():
            status, body = await self.provider.async_discovery(timeout=HTTP_TIMEOUT_S)
        if body is None:
            raise CloudProtocolError(f"the store's OpenID configuration answered {status}")
        for key in ("token_endpoint", "device_authorization_endpoint", "issuer"):
            if not isinstance(body.get(key), str):
                self.provider.forget_discovery()
                raise CloudProtocolError(f"the store's OpenID configuration lacks {key}")
        return body

    async def _endpoint(self, name: str) -> str:
        value = (await self.async_metadata()).get(name)
        if not isinstance(value, str):
            raise CloudProtocolError(f"the store does not offer {name}")
        return value

    @staticmethod
    def _oauth_error(body: object) -> tuple[str, str]:
        return oauth_error(body)

    @staticmethod
    def _tokens(body: object) -> TokenSet:
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise CloudProtocolError("the store's token answer has no access token")
        refresh = body.get("refresh_token")
        try:
            expires_in = float(body.get("expires_in", 3600))
        except (TypeError, ValueError) as err:
            raise CloudProtocolError("the store's token answer has a bad expires_in") from err
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=refresh if isinstance(refresh, str) else None,
            expires_in=expires_in,
            scope=str(body.get("scope", "")),
        )

    # Device authorization grant (RFC 8628) --------------------------------------
    async def async_start_device_authorization(
        self, client_id: str, scope: str
    ) -> DeviceAuthorization:
        url = await self._endpoint("device_authorization_endpoint")
        status, body, _ = await self._request(
            "POST", url, data={"client_id": client_id, "scope": scope}
        )
        if status != 200 or not isinstance(body, dict):
            error, _ = self._oauth_error(body)
            raise CloudProtocolError(f"the store refused to start linking ({error or status})")
        try:
            return DeviceAuthorization(
                device_code=str(body["device_code"]),
                user_code=str(body["user_code"]),
                verification_uri=str(body["verification_uri"]),
                verification_uri_complete=str(
                    body.get("verification_uri_complete") or body["verification_uri"]
                ),
                expires_in=int(body["expires_in"]),
                interval=int(body.get("interval", 5)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise CloudProtocolError(f"the store's device authorization lacks {err}") from err

    async def async_poll_device_token(self, client_id: str, device_code: str) -> TokenSet:
        """One poll; raises PendingApproval while the owner has not decided."""
        url = await self._endpoint("token_endpoint")
        form = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id}
        with _cloud_errors():
            status, body = await self.provider.async_token_request(
                url, form, timeout=HTTP_TIMEOUT_S
            )
        if status == 200:
            return self._tokens(body)
        error, _ = self._oauth_error(body)
        if error in ("authorization_pending", "slow_down"):
            raise PendingApproval(slow_down=error == "slow_down")
        if error == "access_denied":
            raise CloudAuthError("the owner refused to link this hub", error)
        if error == "expired_token":
            raise CloudAuthError("the code expired before it was approved", error)
        raise CloudAuthError(f"the store refused the link ({error or status})", error)

    async def async_refresh(
        self, client_id: str, refresh_token: str, scope: str | None = None
    ) -> TokenSet:
        url = await self._endpoint("token_endpoint")
        with _cloud_errors():
            status, body = await self.provider.async_refresh(
                url, client_id, refresh_token, scope=scope, timeout=HTTP_TIMEOUT_S
            )
        if status == 200:
            return self._tokens(body)
        error, _ = self._oauth_error(body)
        if status in (400, 401) and error:
            raise CloudAuthError(
                f"the store no longer accepts this hub's link ({error}); link it again", error
            )
        raise CloudProtocolError(f"the store answered {status} to a token refresh")

    # Registration (RFC 7591) and userinfo ----------------------------------------
    async def async_register_hub(
        self, onboarding_token: str, client_name: str, redirect_uri: str
    ) -> RegisteredClient:
        url = await self._endpoint("registration_endpoint")
        metadata = {
            "client_name": client_name,
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": REGISTERED_SCOPE,
        }
        status, body, _ = await self._request(
            "POST", url, json=metadata, headers={"Authorization": f"Bearer {onboarding_token}"}
        )
        if status != 201 or not isinstance(body, dict):
            error, description = self._oauth_error(body)
            raise CloudProtocolError(
                f"the store refused to register this hub ({error or status}: {description})"
            )
        client_id, secret = body.get("client_id"), body.get("client_secret")
        if not isinstance(client_id, str) or not isinstance(secret, str):
            raise CloudProtocolError("the store's registration answer lacks client credentials")
        return RegisteredClient(client_id, secret)

    async def async_userinfo(self, access_token: str) -> dict[str, Any]:
        url = await self._endpoint("userinfo_endpoint")
        status, body, _ = await self._request(
            "GET", url, headers={"Authorization": f"Bearer {access_token}"}
        )
        if status in (401, 403):
            raise CloudAuthError("the store refused the hub's token", "invalid_token")
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("sub"), str):
            raise CloudProtocolError(f"the store's userinfo answered {status}")
        return body

    # Owned devices --------------------------------------------------------------
    async def async_owned_devices(
        self, access_token: str, etag: str | None = None
    ) -> OwnedDevicesAnswer:
        """The account's devices, or ``devices=None`` when unchanged since ``etag``."""
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        if etag:
            headers["If-None-Match"] = etag
        status, body, answer_headers = await self._request(
            "GET", self.base_url + OWNED_DEVICES_PATH, headers=headers
        )
        new_etag = answer_headers.get("ETag")
        if status == 304:
            return OwnedDevicesAnswer(None, new_etag or etag)
        if status == 401:
            raise CloudAuthError("the store refused the hub's access token", "invalid_token")
        if status == 403:
            raise CloudAuthError(
                "the hub's link lacks the devices permission", "insufficient_scope"
            )
        if status != 200:
            raise CloudProtocolError(f"the store answered {status} for the owned devices")
        try:
            devices = owned_devices_from_json(body)
        except ValueError as err:
            raise CloudProtocolError(f"the store's device list is malformed ({err})") from err
        return OwnedDevicesAnswer(devices, new_etag)

    # Remote access (REMOTE.md) --------------------------------------------------
    async def async_remote_hub_session(
        self, client_id: str, client_secret: str, *, enabled: bool, members: list[str]
    ) -> RemoteHubSession:
        """Tell the store who may reach this hub remotely; with ``enabled``, get a broker
        token. 401: the store no longer knows this hub's client (unlinked there)."""
        status, body, _ = await self._request(
            "POST",
            self.base_url + REMOTE_HUB_SESSION_PATH,
            json={"enabled": enabled, "members": members},
            headers={"Authorization": aiohttp.encode_basic_auth(client_id, client_secret)},
        )
        if status == 401:
            raise CloudAuthError(
                "the store no longer knows this hub; link it again", "invalid_client"
            )
        if status == 403:
            _, why = self._oauth_error(body)
            raise CloudAuthError(
                f"the store refuses remote access for this hub ({why or 'forbidden'}); "
                "link it again",
                "forbidden",
            )
        if status != 200:
            raise CloudProtocolError(f"the store answered {status} for the remote session")
        try:
            return RemoteHubSession.from_json(body)
        except ValueError as err:
            raise CloudProtocolError(f"the store's remote session is malformed ({err})") from err
