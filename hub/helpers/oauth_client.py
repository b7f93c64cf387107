"""The hub's one OAuth 2.0 / OpenID Connect speaker: the provider's discovery document (fetched
once, kept for an hour), its token endpoint (code exchange, refresh, device grant polls) and
plain JSON requests to it, with a cap on what it may send back.

Sign-in (``hub.web.auth.oidc``) and the store link (``hub.integrations.ethos_cloud.client``)
both speak through it, sharing one discovery document in the web app. It decides no policy:
each caller reads the answers and raises its own errors; this module's two errors only say
whether the provider could not be reached or sent something that is not a JSON document.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any, Final

import aiohttp

_LOGGER = logging.getLogger(__name__)
DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
DISCOVERY_CACHE_S: Final = 3600.0
MAX_ANSWER_BYTES: Final = 1024**2
READ_CHUNK_BYTES: Final = 64 * 1024
DEFAULT_TIMEOUT_S: Final = 10.0

JsonBody = dict[str, Any] | list[Any] | None


class ProviderUnreachable(Exception):
    """Network error, timeout or a 5xx (``status``): the provider may answer later."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ProviderAnswerInvalid(Exception):
    """The provider answered something that is not a JSON document (or far too large)."""


class OAuthProvider:
    """One OAuth/OIDC provider, reached through the caller's ``aiohttp.ClientSession``."""

    def __init__(self, session: aiohttp.ClientSession, issuer_url: str) -> None:
        self._http = session
        self.issuer_url = issuer_url.rstrip("/")
        self._discovery: dict[str, Any] | None = None
        self._discovery_at = 0.0

    async def async_request(
        self, method: str, url: str, *, timeout: float = DEFAULT_TIMEOUT_S, **kwargs: Any
    ) -> tuple[int, JsonBody, Mapping[str, str]]:
        """Status, JSON body (None when empty) and headers. A 5xx raises ProviderUnreachable."""
        try:
            async with self._http.request(
                method, url, timeout=aiohttp.ClientTimeout(total=timeout), **kwargs
            ) as response:
                status, headers = response.status, response.headers
                raw = await _async_read_capped(response)
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise ProviderUnreachable(str(err) or type(err).__name__) from err
        if status >= 500:
            raise ProviderUnreachable(f"{url} answered {status}", status)
        if len(raw) > MAX_ANSWER_BYTES:
            raise ProviderAnswerInvalid("the store's answer is too large")
        if not raw:
            return status, None, headers
        try:
            body = json.loads(raw)
        except ValueError as err:
            raise ProviderAnswerInvalid(
                f"the store sent something that is not JSON ({status})"
            ) from err
        if not isinstance(body, dict | list):
            raise ProviderAnswerInvalid("the store sent an unexpected document")
        return status, body, headers

    async def async_discovery(
        self, *, refresh: bool = False, timeout: float = DEFAULT_TIMEOUT_S
    ) -> tuple[int, dict[str, Any] | None]:
        """The discovery document (status 200), from the cache while it is fresh unless
        ``refresh``; any other answer is returned with its status and not kept."""
        fresh = time.monotonic() - self._discovery_at < DISCOVERY_CACHE_S
        if self._discovery is not None and fresh and not refresh:
            return 200, self._discovery
        url = self.issuer_url + DISCOVERY_PATH
        status, body, _ = await self.async_request("GET", url, timeout=timeout)
        if status != 200 or not isinstance(body, dict):
            return status, None
        self._discovery, self._discovery_at = body, time.monotonic()
        _LOGGER.debug("Discovery document of %s fetched", self.issuer_url)
        return status, body

    def forget_discovery(self) -> None:
        """Fetch the document again next time (a caller found it unusable)."""
        self._discovery, self._discovery_at = None, 0.0

    async def async_token_request(
        self,
        token_endpoint: str,
        form: Mapping[str, str],
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> tuple[int, JsonBody]:
        """POST a grant to the token endpoint; the status and the JSON answer."""
        status, body, _ = await self.async_request(
            "POST", token_endpoint, data=dict(form), headers=dict(headers or {}), timeout=timeout
        )
        return status, body

    async def async_refresh(
        self,
        token_endpoint: str,
        client_id: str,
        refresh_token: str,
        *,
        scope: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> tuple[int, JsonBody]:
        """Spend a refresh token (RFC 6749, section 6); the status and the JSON answer."""
        return await self.async_token_request(
            token_endpoint,
            refresh_form(client_id, refresh_token, scope),
            headers=headers,
            timeout=timeout,
        )


def refresh_form(client_id: str, refresh_token: str, scope: str | None = None) -> dict[str, str]:
    """The token endpoint's form that spends a refresh token (RFC 6749, section 6)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    if scope:
        form["scope"] = scope
    return form


async def _async_read_capped(response: aiohttp.ClientResponse) -> bytes:
    """The whole body, or its first ``MAX_ANSWER_BYTES + 1`` bytes when it is longer (a
    single ``read(n)`` returns what has arrived so far, which may be one chunk of many)."""
    raw = bytearray()
    async for chunk in response.content.iter_chunked(READ_CHUNK_BYTES):
        raw += chunk
        if len(raw) > MAX_ANSWER_BYTES:
            break
    return bytes(raw[: MAX_ANSWER_BYTES + 1])


def oauth_error(body: object) -> tuple[str, str]:
    """An OAuth error answer's ``error`` and (short) ``error_description``; empty when none."""
    if isinstance(body, dict):
        return str(body.get("error", "")), str(body.get("error_description", ""))[:200]
    return "", ""
