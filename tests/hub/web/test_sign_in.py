"""Sign-in with the store account: code + PKCE against an in-test OpenID provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub.web.app import create_app
from hub.web.auth.const import SESSION_COOKIE
from hub.web.auth.oidc import pkce_challenge
from tests.hub.common import make_config
from tests.hub.web.oidc_provider import STATE_KEY, ProviderState, create_provider

CLIENT_ID = "ethos-hub-test"
REDIRECT = "http://hub.test/auth/callback"


@dataclass
class World:
    hub: TestClient
    provider_server: TestServer
    provider: ProviderState
    browser: aiohttp.ClientSession  # talks to the provider like the user's browser

    async def begin(self, next_path: str = "/devices") -> dict[str, list[str]]:
        started = await self.hub.get(f"/auth/login?next={next_path}", allow_redirects=False)
        assert started.status == 302, await started.text()
        return parse_qs(urlsplit(started.headers["Location"]).query) | {
            "_url": [started.headers["Location"]]
        }

    async def sign_in(self) -> aiohttp.ClientResponse:
        params = await self.begin()
        async with self.browser.get(params["_url"][0], allow_redirects=False) as approved:
            back = urlsplit(approved.headers["Location"])
        return await self.hub.get(f"/auth/callback?{back.query}", allow_redirects=False)


@pytest.fixture
async def world(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> AsyncIterator[World]:
    provider_app = create_provider(CLIENT_ID)
    provider_server = TestServer(provider_app)
    await provider_server.start_server()
    issuer = str(provider_server.make_url("")).rstrip("/")
    provider_app[STATE_KEY].issuer = issuer
    config = make_config(tmp_path, cloud_url=issuer, client_id=CLIENT_ID, redirect_uri=REDIRECT)
    hub = await aiohttp_client(create_app(config))
    async with aiohttp.ClientSession() as browser:
        yield World(hub, provider_server, provider_app[STATE_KEY], browser)
    await provider_server.close()


async def test_code_flow_with_pkce_signs_in_the_owner_then_members(world: World) -> None:
    params = await world.begin()
    assert params["code_challenge_method"] == ["S256"]
    assert params["client_id"] == [CLIENT_ID] and params["redirect_uri"] == [REDIRECT]
    assert "openid" in params["scope"][0]
    async with world.browser.get(params["_url"][0], allow_redirects=False) as approved:
        back = urlsplit(approved.headers["Location"])
    done = await world.hub.get(f"/auth/callback?{back.query}", allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == "/devices"
    # The verifier the hub sent matches the challenge it published.
    verifier = world.provider.token_requests[-1]["code_verifier"]
    assert pkce_challenge(verifier) == params["code_challenge"][0]
    page = await world.hub.get("/devices")
    assert page.status == 200
    assert "Alice · owner" in await page.text()

    world.hub.session.cookie_jar.clear()
    world.provider.subject, world.provider.name = "bob-sub", "Bob"
    assert (await world.sign_in()).status == 303
    assert "Bob · member" in await (await world.hub.get("/devices")).text()


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        ("nonce", "nonce"),
        ("aud", "aud"),
        ("expired", "exp"),
        ("signature", "not valid"),
    ],
)
async def test_bad_id_tokens_are_refused(world: World, tamper: str, says: str) -> None:
    world.provider.tamper = tamper
    refused = await world.sign_in()
    assert refused.status == 400
    text = await refused.text()
    assert "Sign-in failed" in text and says in text
    assert SESSION_COOKIE not in {c.key for c in world.hub.session.cookie_jar}
    assert (await world.hub.get("/devices", allow_redirects=False)).status == 302


async def test_callback_from_another_browser_or_replayed_is_refused(world: World) -> None:
    params = await world.begin()
    async with world.browser.get(params["_url"][0], allow_redirects=False) as approved:
        back = urlsplit(approved.headers["Location"])
    world.hub.session.cookie_jar.clear()  # a different browser holds the code
    stolen = await world.hub.get(f"/auth/callback?{back.query}", allow_redirects=False)
    assert stolen.status == 400
    assert "not started in this browser" in await stolen.text()
    denied = await world.hub.get("/auth/callback?error=access_denied&state=x")
    assert denied.status == 400 and "access_denied" in await denied.text()


async def test_known_user_signs_in_offline_only_while_the_store_is_down(world: World) -> None:
    assert (await world.sign_in()).status == 303
    page = await world.hub.get("/devices")
    csrf = (await page.text()).split('name="csrf" value="', 1)[1].split('"', 1)[0]
    await world.hub.post("/auth/logout", data={"csrf": csrf}, allow_redirects=False)
    assert (await world.hub.get("/devices", allow_redirects=False)).status == 302

    # Store up: the offline door stays shut and sends people to the real sign-in.
    up = await world.hub.post("/auth/offline", data={"next": "/devices"}, allow_redirects=False)
    assert up.status == 303 and up.headers["Location"].startswith("/auth/login")

    await world.provider_server.close()
    login = await world.hub.get("/auth/login")
    assert login.status == 503
    assert "Continue offline as Alice" in await login.text()
    offline = await world.hub.post(
        "/auth/offline", data={"next": "/devices"}, allow_redirects=False
    )
    assert offline.status == 303
    assert "Alice · owner · offline" in await (await world.hub.get("/devices")).text()

    # A browser that never signed in here gets no offline session.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as stranger:
        refused = await stranger.post(
            world.hub.make_url("/auth/offline"), data={"next": "/"}, allow_redirects=False
        )
        assert refused.status == 403


async def test_cross_site_offline_post_is_refused(world: World) -> None:
    response = await world.hub.post(
        "/auth/offline", data={}, headers={"Origin": "http://evil.test"}, allow_redirects=False
    )
    assert response.status == 403


def test_app_is_an_aiohttp_application(tmp_path: Path) -> None:
    assert isinstance(create_app(make_config(tmp_path)), web.Application)
