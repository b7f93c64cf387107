"""Sign-in to the hub with a store account, against the real cloud app in-process:
the hub registers itself (as the follow-up issue will do), then code + PKCE + consent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer

from cloud.app import create_app as create_cloud_app
from cloud.config import CloudSettings
from cloud.oauth.const import HUB_SETUP_CLIENT_ID
from hub.web.app import create_app
from hub.web.keys import OIDC_KEY
from tests.cloud.common import PASSWORD
from tests.cloud.oauth.conftest import Provider
from tests.conftest import DatabaseTarget
from tests.hub.common import make_config
from tests.support.oidc_client import OidcClient, StoreBrowser
from tests.support.processes import free_port
from tests.support.smtp_sink import MailCatcher

ONBOARDING_SCOPE = "openid profile email devices hub.register"


@pytest.fixture
async def store(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    database: DatabaseTarget,
    smtp_server: MailCatcher,
    tmp_path: Path,
) -> Provider:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = CloudSettings(
        data_dir=tmp_path / "cloud",
        base_url=base_url,
        database_url=database.url,
        database_schema=database.schema,
        smtp_url=smtp_server.url,
    )
    app = create_cloud_app(settings)
    server = await aiohttp_server(app, port=port)
    return Provider(base_url, app, await aiohttp_client(server), smtp_server)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def test_store_account_signs_in_to_the_hub(
    store: Provider,
    http: httpx.AsyncClient,
    tmp_path: Path,
    unique_id: str,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    email = await store.new_account(f"owner-{unique_id}@example.org")
    person = StoreBrowser(store.base_url)
    try:
        await person.sign_in(email, PASSWORD)
        hub_app = create_app(make_config(tmp_path / "hub", cloud_url=store.base_url))
        hub = await aiohttp_client(hub_app)
        redirect_uri = str(hub.make_url("/auth/callback"))

        # Onboarding: the owner approves the hub, which registers itself as a client.
        setup = OidcClient(store.base_url, HUB_SETUP_CLIENT_ID, http)
        device = await setup.start_device_flow(ONBOARDING_SCOPE)
        await person.decide_device(device.user_code, approve=True)
        onboarding = await setup.poll_device_token(device, interval=0)
        registered = await setup.register(
            onboarding.access_token,
            {
                "client_name": "Test hub",
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
                "scope": "openid profile email devices",
            },
        )
        hub_app[OIDC_KEY].set_client(
            registered["client_id"], redirect_uri, registered["client_secret"]
        )

        started = await hub.get("/auth/login?next=/devices", allow_redirects=False)
        assert started.status == 302
        callback = await person.authorize(started.headers["Location"], redirect_uri)
        done = await hub.get(f"/auth/callback?{urlsplit(callback).query}", allow_redirects=False)
        assert done.status == 303, await done.text()
        assert done.headers["Location"] == "/devices"
        page = await hub.get("/devices")
        assert page.status == 200
        assert "· owner" in await page.text()
    finally:
        await person.aclose()
