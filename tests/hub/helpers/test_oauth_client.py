"""The hub's one OAuth client, spoken through by sign-in and the store link: one discovery
document between them, token endpoint calls and refresh, and errors each caller maps to its
own kind. A real HTTP provider on the loopback plays the store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hub.helpers.oauth_client import OAuthProvider, ProviderAnswerInvalid, ProviderUnreachable
from hub.integrations.ethos_cloud.client import (
    CloudAuthError,
    CloudProtocolError,
    CloudUnreachable,
    EthosCloudClient,
)
from hub.web.auth.oidc import GrantRevoked, OidcRelyingParty, SignInFailed

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


class FakeStore:
    """Discovery, a token endpoint that rotates refresh tokens, and a switchable fault."""

    def __init__(self) -> None:
        self.discovery_hits = 0
        self.forms: list[dict[str, str]] = []
        self.auth_headers: list[str | None] = []
        self.url = ""
        self.drop: str | None = None  # a key left out of the discovery document
        self.padding = 0  # bytes of an extra field: a long, valid document
        self.fault: str | None = None  # "503", "huge" or "garbage" for the next answers

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.discovery)
        app.router.add_post("/token", self.token)
        return app

    async def discovery(self, request: web.Request) -> web.StreamResponse:
        self.discovery_hits += 1
        if self.fault == "503":
            return web.Response(status=503)
        if self.fault == "huge":
            return web.Response(body=b"[" + b"1," * 600_000 + b"1]")
        if self.fault == "garbage":
            return web.Response(text="<html>not json</html>")
        document: dict[str, Any] = {
            "issuer": self.url,
            "authorization_endpoint": self.url + "/authorize",
            "token_endpoint": self.url + "/token",
            "device_authorization_endpoint": self.url + "/device",
            "jwks_uri": self.url + "/jwks",
            "code_challenge_methods_supported": ["S256"],
        }
        document.pop(self.drop or "", None)
        if self.padding:
            document["x_padding"] = "p" * self.padding
        return web.json_response(document)

    async def token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.forms.append(form)
        self.auth_headers.append(request.headers.get("Authorization"))
        if form.get("refresh_token") == "revoked":
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response(
            {
                "access_token": "at",
                "refresh_token": form.get("refresh_token", "") + "+",
                "expires_in": 60,
            }
        )


@pytest.fixture
async def store(aiohttp_server: ServerFactory) -> FakeStore:
    fake = FakeStore()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


async def test_sign_in_and_the_store_link_share_one_discovery_document(store: FakeStore) -> None:
    async with aiohttp.ClientSession() as session:
        sign_in = OidcRelyingParty(session, store.url, "hub-client", "http://hub/cb", "secret")
        link = EthosCloudClient(session, store.url, sign_in.provider)
        assert (await sign_in.async_metadata()).token_endpoint == store.url + "/token"
        assert (await link.async_metadata())[
            "device_authorization_endpoint"
        ] == store.url + "/device"
        assert (await link.async_refresh("ethos-hub", "r1")).refresh_token == "r1+"
        assert await sign_in.async_refresh("r2") == "r2+"
        assert store.discovery_hits == 1

        # Starting a sign-in fetches it anew (that is how the hub learns the store is up).
        await sign_in.async_begin("/")
        await link.async_metadata()
        assert store.discovery_hits == 2

    refresh_link, refresh_sign_in = store.forms
    assert refresh_link == {
        "grant_type": "refresh_token",
        "refresh_token": "r1",
        "client_id": "ethos-hub",
    }
    assert refresh_sign_in == {
        "grant_type": "refresh_token",
        "refresh_token": "r2",
        "client_id": "hub-client",
    }
    # Sign-in authenticates as the registered client; the store link's public client does not.
    assert store.auth_headers[0] is None
    assert (store.auth_headers[1] or "").startswith("Basic ")


async def test_a_refused_refresh_is_each_callers_own_error(store: FakeStore) -> None:
    async with aiohttp.ClientSession() as session:
        sign_in = OidcRelyingParty(session, store.url, "hub-client", "http://hub/cb")
        link = EthosCloudClient(session, store.url, sign_in.provider)
        with pytest.raises(GrantRevoked, match="invalid_grant"):
            await sign_in.async_refresh("revoked")
        with pytest.raises(CloudAuthError) as refused:
            await link.async_refresh("ethos-hub", "revoked")
        assert refused.value.error == "invalid_grant"


async def test_an_unusable_discovery_document_is_not_kept(store: FakeStore) -> None:
    async with aiohttp.ClientSession() as session:
        link = EthosCloudClient(session, store.url)
        store.drop = "device_authorization_endpoint"
        with pytest.raises(CloudProtocolError, match="lacks device_authorization_endpoint"):
            await link.async_metadata()
        store.drop = None
        assert (await link.async_metadata())["issuer"] == store.url
        assert store.discovery_hits == 2

        sign_in = OidcRelyingParty(session, store.url, "hub-client", "http://hub/cb")
        store.drop = "jwks_uri"
        with pytest.raises(SignInFailed, match="jwks_uri"):
            await sign_in.async_metadata()
        store.drop = None
        assert (await sign_in.async_metadata()).jwks_uri == store.url + "/jwks"
        assert store.discovery_hits == 4


@pytest.mark.parametrize(
    ("fault", "provider_error", "cloud_error", "cloud_message"),
    [
        ("503", ProviderUnreachable, CloudUnreachable, "the store answered 503"),
        ("huge", ProviderAnswerInvalid, CloudProtocolError, "too large"),
        ("garbage", ProviderAnswerInvalid, CloudProtocolError, r"not JSON \(200\)"),
    ],
)
async def test_faults_become_each_callers_errors(
    store: FakeStore,
    fault: str,
    provider_error: type[Exception],
    cloud_error: type[Exception],
    cloud_message: str,
) -> None:
    store.fault = fault
    async with aiohttp.ClientSession() as session:
        provider = OAuthProvider(session, store.url)
        with pytest.raises(provider_error):
            await provider.async_discovery()
        with pytest.raises(cloud_error, match=cloud_message):
            await EthosCloudClient(session, store.url, provider).async_metadata()
        sign_in = OidcRelyingParty(session, store.url, "c", "http://hub/cb", provider=provider)
        expected = ProviderUnreachable if fault == "503" else SignInFailed
        with pytest.raises(expected):
            await sign_in.async_metadata()


async def test_an_unreachable_provider_is_unreachable_to_both() -> None:
    async with aiohttp.ClientSession() as session:
        sign_in = OidcRelyingParty(session, "http://127.0.0.1:9", "c", "http://hub/cb")
        with pytest.raises(ProviderUnreachable):
            await sign_in.async_metadata()
        with pytest.raises(CloudUnreachable, match="cannot be reached"):
            await EthosCloudClient(session, "http://127.0.0.1:9", sign_in.provider).async_metadata()


async def test_a_long_answer_is_read_whole(store: FakeStore) -> None:
    """An answer of many chunks (here 600 kB, under the 1 MiB cap) is read to its end; the
    store link's client used to read only what had arrived and call it "not JSON"."""
    store.padding = 600_000
    async with aiohttp.ClientSession() as session:
        document = await EthosCloudClient(session, store.url).async_metadata()
    assert len(document["x_padding"]) == 600_000
