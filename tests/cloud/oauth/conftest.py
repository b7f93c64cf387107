"""The store served on a real port (so its issuer URL is true), a relying party, a person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from cloud.app import create_app
from cloud.config import CloudSettings
from cloud.oauth.const import HUB_SETUP_CLIENT_ID, MOBILE_CLIENT_ID
from tests.cloud.common import PASSWORD, sign_up_and_confirm
from tests.support.oidc_client import OidcClient, StoreBrowser
from tests.support.processes import free_port
from tests.support.smtp_sink import MailCatcher

HUB_REDIRECT_URI = "http://192.168.1.20:8181/auth/callback"


@dataclass
class Provider:
    base_url: str
    app: web.Application
    client: TestClient  # for helpers written against aiohttp's test client
    smtp: MailCatcher

    @property
    def mobile_redirect_uri(self) -> str:
        return f"{self.base_url}/app/callback"

    async def new_account(self, email: str) -> str:
        """A confirmed account (signed up through the store's pages); returns the email."""
        await sign_up_and_confirm(self.client, self.smtp, email)
        self.client.session.cookie_jar.clear()
        return email


@pytest.fixture
def oauth_settings(cloud_settings: CloudSettings) -> CloudSettings:
    return cloud_settings


@pytest.fixture
async def provider(
    aiohttp_server, aiohttp_client, oauth_settings: CloudSettings, smtp_server: MailCatcher
) -> Provider:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(replace(oauth_settings, base_url=base_url))
    server = await aiohttp_server(app, port=port)
    client = await aiohttp_client(server)
    return Provider(base_url, app, client, smtp_server)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


@pytest.fixture
async def browser(provider: Provider) -> AsyncIterator[StoreBrowser]:
    person = StoreBrowser(provider.base_url)
    try:
        yield person
    finally:
        await person.aclose()


@pytest.fixture
async def signed_in(provider: Provider, browser: StoreBrowser, unique_id: str) -> str:
    """A confirmed account whose browser is signed in to the store; returns the email."""
    email = await provider.new_account(f"owner-{unique_id}@example.org")
    await browser.sign_in(email, PASSWORD)
    return email


@pytest.fixture
def mobile(provider: Provider, http: httpx.AsyncClient) -> OidcClient:
    return OidcClient(
        provider.base_url, MOBILE_CLIENT_ID, http, redirect_uri=provider.mobile_redirect_uri
    )


@pytest.fixture
def hub_setup(provider: Provider, http: httpx.AsyncClient) -> OidcClient:
    return OidcClient(provider.base_url, HUB_SETUP_CLIENT_ID, http)
