"""A hub as the store's OAuth tests meet it: onboarded by its owner (device flow), then
registered (RFC 7591) as a confidential client that household members sign in to."""

from __future__ import annotations

from typing import Any

import httpx

from tests.cloud.oauth.conftest import HUB_REDIRECT_URI
from tests.support.oidc_client import OidcClient, StoreBrowser, Tokens

ONBOARDING_SCOPE = "openid profile email devices hub.register"
MEMBER_SCOPE = "openid profile email devices"
HUB_METADATA = {
    "client_name": "Living room hub",
    "redirect_uris": [HUB_REDIRECT_URI],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "client_secret_basic",
    "scope": MEMBER_SCOPE,
}


async def onboard(browser: StoreBrowser, hub_setup: OidcClient) -> Tokens:
    """The owner (signed in on `browser`) approves the hub's device-flow request."""
    device = await hub_setup.start_device_flow(ONBOARDING_SCOPE)
    await browser.decide_device(device.user_code, approve=True)
    return await hub_setup.poll_device_token(device, interval=0)


def hub_client(
    issuer: str,
    registered: dict[str, Any],
    http: httpx.AsyncClient,
    redirect_uri: str = HUB_REDIRECT_URI,
) -> OidcClient:
    """The relying party of a registration's answer (its id, secret and auth method)."""
    return OidcClient(
        issuer,
        registered["client_id"],
        http,
        client_secret=registered.get("client_secret"),
        redirect_uri=redirect_uri,
        token_endpoint_auth_method=registered["token_endpoint_auth_method"],
    )


async def registered_hub(
    provider: Any,
    browser: StoreBrowser,
    hub_setup: OidcClient,
    http: httpx.AsyncClient,
    **changes: Any,
) -> OidcClient:
    """Onboard a hub, register it with HUB_METADATA (plus `changes`), and return it."""
    onboarding = await onboard(browser, hub_setup)
    registered = await hub_setup.register(onboarding.access_token, HUB_METADATA | changes)
    return hub_client(provider.base_url, registered, http)
