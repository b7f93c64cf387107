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
from hub.web.auth.const import KNOWN_USER_COOKIE, SESSION_COOKIE
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


async def test_code_flow_with_pkce_signs_in_the_owner_then_invited_members(world: World) -> None:
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

    # Bob is let in once the owner invited his address (verified by the provider).
    users = await (await world.hub.get("/users")).text()
    csrf = users.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    invited = await world.hub.post(
        "/users/invitations", data={"csrf": csrf, "email": "Bob-Sub@Example.test"}
    )
    assert invited.status == 200 and "bob-sub@example.test" in await invited.text()
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


async def test_a_store_account_nobody_invited_gets_no_session(world: World) -> None:
    assert (await world.sign_in()).status == 303  # the first person owns this (unlinked) hub
    world.hub.session.cookie_jar.clear()
    world.provider.subject, world.provider.name = "mallory-sub", "Mallory"
    refused = await world.sign_in()
    assert refused.status == 403
    assert "Ask the hub's owner to invite you" in await refused.text()
    cookies = {c.key for c in world.hub.session.cookie_jar}
    assert SESSION_COOKIE not in cookies and KNOWN_USER_COOKIE not in cookies
    assert (await world.hub.get("/api/states")).status == 401


async def test_an_unverified_address_does_not_match_an_email_invitation(world: World) -> None:
    assert (await world.sign_in()).status == 303
    users = await (await world.hub.get("/users")).text()
    csrf = users.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    await world.hub.post("/users/invitations", data={"csrf": csrf, "email": "eve@example.test"})
    world.hub.session.cookie_jar.clear()
    world.provider.subject, world.provider.email_verified = "eve", False
    assert (await world.sign_in()).status == 403
    world.provider.email_verified = True
    assert (await world.sign_in()).status == 303


@pytest.mark.parametrize(
    "next_value",
    [
        "/%09/evil.example",
        "/%0a/evil.example",
        "/%0d%0a/evil.example",
        "/%5Cevil.example",
        "/%5C%5Cevil.example",
        "//evil.example",
        "/%2F/evil.example",
        "https://evil.example/",
        "/%E2%80%A8/evil.example",
    ],
)
async def test_next_never_leads_off_the_hub_after_sign_in(world: World, next_value: str) -> None:
    started = await world.hub.get(f"/auth/login?next={next_value}", allow_redirects=False)
    async with world.browser.get(started.headers["Location"], allow_redirects=False) as approved:
        back = urlsplit(approved.headers["Location"])
    done = await world.hub.get(f"/auth/callback?{back.query}", allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == "/"


@pytest.mark.parametrize("next_value", ["/\t/evil.example", "/\n/evil.example", "/\\evil"])
async def test_the_offline_form_keeps_next_on_the_hub(world: World, next_value: str) -> None:
    sent = await world.hub.post("/auth/offline", data={"next": next_value}, allow_redirects=False)
    location = urlsplit(sent.headers["Location"])
    assert sent.status == 303 and location.path == "/auth/login"
    assert parse_qs(location.query)["next"] == ["/"]


async def test_one_address_cannot_push_out_the_sign_ins_of_others(world: World) -> None:
    # The person signs in from 127.0.0.2; an anonymous script floods from 127.0.0.1.
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as person:
        started = await person.get(
            world.hub.make_url("/auth/login?next=/devices"), allow_redirects=False
        )
        assert started.status == 302
        async with world.browser.get(started.headers["Location"], allow_redirects=False) as ok:
            back = urlsplit(ok.headers["Location"])
        for _ in range(1000):
            flood = await world.hub.get("/auth/login", allow_redirects=False)
            assert flood.status == 302
            flood.release()
        done = await person.get(
            world.hub.make_url(f"/auth/callback?{back.query}"), allow_redirects=False
        )
        assert done.status == 303, await done.text()
        assert done.headers["Location"] == "/devices"


def test_app_is_an_aiohttp_application(tmp_path: Path) -> None:
    assert isinstance(create_app(make_config(tmp_path)), web.Application)
