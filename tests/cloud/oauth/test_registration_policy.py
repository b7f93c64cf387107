"""Consent phishing through client registration (RFC 7591): any account can onboard a
"hub" and register a client, so what such a client may be is narrow, its consent page
says who is behind it, and it never carries claim secrets of someone else's devices."""

from __future__ import annotations

import pytest

from cloud.oauth.models import OAuthClient
from cloud.web.keys import DB
from tests.cloud.common import PASSWORD
from tests.cloud.oauth.conftest import HUB_REDIRECT_URI
from tests.cloud.oauth.hubs import HUB_METADATA, MEMBER_SCOPE, onboard, registered_hub
from tests.support.oidc_client import OidcClient, OidcError, StoreBrowser

REFUSED_REDIRECTS = [
    "http://evil.example/cb",  # plain http to the internet
    "http://8.8.8.8/cb",
    "http://172.32.0.1/cb",  # just outside RFC 1918
    "http://localhost/cb",  # a name, not the loopback literal (RFC 8252 §8.3)
    "http://0.0.0.0:8181/cb",
    "http://192.168.1.20:8181@evil.example/cb",  # user info hiding the real host
    "https://ethos.example\\@evil.example/cb",
    "http://192.168.1.20:8181/cb\t",
    'http://192.168.1.20:8181/"cb',
    "http://192.168.1.20:99999/cb",
    "ftp://192.168.1.20/cb",
]
ACCEPTED_REDIRECTS = [
    "https://hub.example.org/auth/callback",
    "http://127.0.0.1:8181/auth/callback",
    "http://[::1]:8181/auth/callback",
    "http://10.0.0.7:8181/auth/callback",
    "http://172.16.5.4/auth/callback",
    "http://169.254.10.20:8181/auth/callback",
    "http://[fd12:3456::1]:8181/auth/callback",
    "http://ethos-hub.local:8181/auth/callback",
    "http://hub.home.arpa:8181/auth/callback",
]
REFUSED_NAMES = [
    "Ethos mobile app",
    "ethos MOBILE app",
    "ＥＴＨＯＳ Mobile App",  # full-width letters
    "Ethоs mobile app",  # a Cyrillic o
    "ЕТНОЅ МОВІLЕ АРР",  # all Cyrillic look-alikes
    "Eth0s mobi1e app",
    "Ethos rnobile app",
    "Ethos  mobile-app",
    "Ethos móbile app",
    "Ethos mobile app\u200b",  # an invisible character
    "Ethos hub setup",
    "Ethos",
    "Ethos Store",
    "The Ethos store (official)",
    "",
]
ACCEPTED_NAMES = ["Ethos hub", "Living room hub", "Wohnzimmer-Hub", "Salon de Zoé", "Хаб"]


async def test_a_registered_client_may_send_people_only_to_https_or_the_lan(
    provider, browser, signed_in, hub_setup, http
):
    onboarding = await onboard(browser, hub_setup)
    for uri in REFUSED_REDIRECTS:
        with pytest.raises(OidcError) as refused:
            await hub_setup.register(
                onboarding.access_token, HUB_METADATA | {"redirect_uris": [uri]}
            )
        assert (refused.value.status, refused.value.error) == (400, "invalid_redirect_uri"), uri
    for uri in ACCEPTED_REDIRECTS:
        registered = await hub_setup.register(
            onboarding.access_token, HUB_METADATA | {"redirect_uris": [uri]}
        )
        assert registered["redirect_uris"] == [uri]


async def test_a_registered_client_cannot_take_a_first_party_name(
    provider, browser, signed_in, hub_setup, http
):
    onboarding = await onboard(browser, hub_setup)
    for name in REFUSED_NAMES:
        with pytest.raises(OidcError) as refused:
            await hub_setup.register(onboarding.access_token, HUB_METADATA | {"client_name": name})
        assert (refused.value.status, refused.value.error) == (400, "invalid_client_metadata"), name
    for name in ACCEPTED_NAMES:
        registered = await hub_setup.register(
            onboarding.access_token, HUB_METADATA | {"client_name": name}
        )
        assert registered["client_name"] == name


async def test_metadata_of_the_wrong_type_is_refused_not_a_server_error(
    provider, browser, signed_in, hub_setup, http
):
    onboarding = await onboard(browser, hub_setup)
    odd_values = [1, True, {"a": 1}, ["x", 1], [1]]
    for key in ("client_name", "redirect_uris", "grant_types", "response_types", "scope"):
        for value in odd_values:
            response = await http.post(
                f"{provider.base_url}/oauth/register",
                json=HUB_METADATA | {key: value},
                headers={"Authorization": f"Bearer {onboarding.access_token}"},
            )
            assert response.status_code == 400, (key, value)
            assert response.json()["error"] in ("invalid_client_metadata", "invalid_redirect_uri")
    # Metadata this provider does not use is ignored, not echoed (RFC 7591 §2).
    registered = await hub_setup.register(
        onboarding.access_token,
        HUB_METADATA | {"logo_uri": {"a": 1}, "client_uri": "http://evil.example/", "jwks": 1},
    )
    assert not {"logo_uri", "client_uri", "jwks"} & set(registered)


async def test_the_consent_page_shows_the_redirect_host_and_who_registered_the_client(
    provider, browser, signed_in, hub_setup, http, unique_id
):
    hub = await registered_hub(provider, browser, hub_setup, http)
    member_email = await provider.new_account(f"member-{unique_id}@example.org")
    member = StoreBrowser(provider.base_url)
    try:
        await member.sign_in(member_email, PASSWORD)
        request = await hub.authorization_request(MEMBER_SCOPE)
        consent = await member.follow_until(request.url, HUB_REDIRECT_URI)
        assert not isinstance(consent, str)
        page = consent.text
        assert "Not an Ethos app" in page
        assert f'<strong class="registrant">{signed_in}</strong>' in page
        assert '<code class="redirect-host">192.168.1.20:8181</code>' in page
    finally:
        await member.aclose()


async def test_another_account_never_gets_the_devices_scope_of_a_registered_client(
    provider, browser, signed_in, hub_setup, http, unique_id
):
    hub = await registered_hub(provider, browser, hub_setup, http)
    member_email = await provider.new_account(f"member-{unique_id}@example.org")
    member = StoreBrowser(provider.base_url)
    try:
        await member.sign_in(member_email, PASSWORD)
        request = await hub.authorization_request(MEMBER_SCOPE)
        consent = await member.follow_until(request.url, HUB_REDIRECT_URI)
        assert not isinstance(consent, str)
        # The screen asks only for what will be given, and says what will not.
        assert 'data-scope="devices"' not in consent.text
        assert 'data-withheld-scope="devices"' in consent.text
        callback = await member.authorize(request.url, HUB_REDIRECT_URI, consent="allow")
        tokens = await hub.exchange_code(callback, request)
        assert "devices" not in tokens.scope.split()
        devices = await http.get(
            f"{provider.base_url}/api/v1/me/devices",
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
        assert devices.status_code == 403
        refreshed = await hub.refresh(tokens.refresh_token)
        assert "devices" not in refreshed.scope.split()

        # Asking for nothing but the claim secrets gets the member nothing at all.
        only_devices = await hub.authorization_request("devices")
        answer = await member.follow_until(only_devices.url, HUB_REDIRECT_URI)
        assert isinstance(answer, str) and "error=invalid_scope" in answer
    finally:
        await member.aclose()

    # The account that registered the hub (its owner) still links its devices.
    request = await hub.authorization_request(MEMBER_SCOPE)
    callback = await browser.authorize(request.url, HUB_REDIRECT_URI, consent="allow")
    tokens = await hub.exchange_code(callback, request)
    assert "devices" in tokens.scope.split()
    devices = await http.get(
        f"{provider.base_url}/api/v1/me/devices",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert devices.status_code == 200


async def test_a_client_registered_before_the_rules_cannot_use_a_public_http_redirect(
    provider, browser, signed_in, http
):
    # A row as the old registration wrote it (no longer possible through the endpoint).
    evil = "http://evil.example/cb"
    async with provider.app[DB]() as session, session.begin():
        session.add(
            OAuthClient(
                client_id="legacy-client",
                name="Legacy hub",
                redirect_uris=evil,
                grant_types="authorization_code refresh_token",
                scope=MEMBER_SCOPE,
                token_endpoint_auth_method="none",
            )
        )
    legacy = OidcClient(provider.base_url, "legacy-client", http, redirect_uri=evil)
    request = await legacy.authorization_request("openid")
    response = await browser.http.get(request.url)
    assert response.status_code == 400 and "location" not in response.headers
