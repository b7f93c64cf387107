"""A hub registers itself (RFC 7591) with its onboarding token; household members then
sign in to it with code + PKCE after a consent screen; the owner can revoke it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.cloud.common import PASSWORD, csrf_from
from tests.cloud.oauth.conftest import HUB_REDIRECT_URI
from tests.cloud.oauth.hubs import (
    HUB_METADATA,
    MEMBER_SCOPE,
    hub_client,
    onboard,
    registered_hub,
)
from tests.support.oidc_client import OidcError, StoreBrowser


async def _member(provider, unique_id: str, name: str = "member") -> StoreBrowser:
    email = await provider.new_account(f"{name}-{unique_id}@example.org")
    person = StoreBrowser(provider.base_url)
    await person.sign_in(email, PASSWORD)
    return person


async def test_hub_registers_then_a_household_member_signs_in(
    provider, browser, signed_in, hub_setup, http, unique_id
):
    onboarding = await onboard(browser, hub_setup)
    registered = await hub_setup.register(onboarding.access_token, HUB_METADATA)
    assert registered["client_secret"] and registered["client_id"] != hub_setup.client_id
    assert registered["redirect_uris"] == [HUB_REDIRECT_URI]
    assert registered["scope"].split() == MEMBER_SCOPE.split()
    hub = hub_client(provider.base_url, registered, http)

    member = await _member(provider, unique_id)
    try:
        request = await hub.authorization_request(MEMBER_SCOPE)
        consent = await member.follow_until(request.url, HUB_REDIRECT_URI)
        assert not isinstance(consent, str), "a third-party hub must ask for consent"
        assert "Living room hub" in consent.text and "192.168.1.20:8181" in consent.text
        assert (
            "form-action 'self' http://192.168.1.20:8181"
            in consent.headers["content-security-policy"]
        )
        callback = await member.authorize(request.url, HUB_REDIRECT_URI, consent="allow")
        tokens = await hub.exchange_code(callback, request)
        assert tokens.id_claims["email"].startswith("member-")
        assert tokens.id_claims["aud"] == [hub.client_id]
        # A member signs in, but the claim secrets stay the registering owner's.
        assert tokens.scope.split() == ["openid", "profile", "email"]

        # The consent is remembered: the next sign-in goes straight back to the hub.
        again = await hub.authorization_request(MEMBER_SCOPE)
        callback = await member.follow_until(again.url, HUB_REDIRECT_URI)
        assert isinstance(callback, str) and "code=" in callback
    finally:
        await member.aclose()


async def test_the_devices_scope_is_needed_for_my_devices(
    provider, browser, signed_in, hub_setup, http
):
    hub = await registered_hub(provider, browser, hub_setup, http)
    request = await hub.authorization_request("openid email")
    callback = await browser.authorize(request.url, HUB_REDIRECT_URI, consent="allow")
    tokens = await hub.exchange_code(callback, request)
    devices = await http.get(
        f"{provider.base_url}/api/v1/me/devices",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert devices.status_code == 403


async def test_denying_consent_returns_access_denied_and_no_code(
    provider, browser, signed_in, hub_setup, http
):
    hub = await registered_hub(provider, browser, hub_setup, http)
    request = await hub.authorization_request(MEMBER_SCOPE)
    callback = await browser.authorize(request.url, HUB_REDIRECT_URI, consent="deny")
    answer = parse_qs(urlsplit(callback).query)
    assert answer["error"] == ["access_denied"] and "code" not in answer
    assert answer["state"] == [request.state]


async def test_a_public_hub_gets_no_secret_and_still_needs_pkce(
    provider, browser, signed_in, hub_setup, http
):
    hub = await registered_hub(
        provider, browser, hub_setup, http, token_endpoint_auth_method="none"
    )
    assert hub.client_secret is None
    request = await hub.authorization_request(MEMBER_SCOPE)
    callback = await browser.authorize(request.url, HUB_REDIRECT_URI, consent="allow")
    assert (await hub.exchange_code(callback, request)).access_token


async def test_a_confidential_hub_with_a_wrong_secret_is_invalid_client(
    provider, browser, signed_in, hub_setup, http
):
    hub = await registered_hub(provider, browser, hub_setup, http)
    request = await hub.authorization_request(MEMBER_SCOPE)
    callback = await browser.authorize(request.url, HUB_REDIRECT_URI, consent="allow")
    hub.client_secret = "wrong"
    with pytest.raises(OidcError) as refused:
        await hub.exchange_code(callback, request)
    assert refused.value.error == "invalid_client"


async def test_registration_needs_the_onboarding_token(
    provider, browser, signed_in, mobile, hub_setup, http
):
    endpoint = f"{provider.base_url}/oauth/register"
    response = await http.post(endpoint, json=HUB_METADATA)
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    response = await http.post(
        endpoint, json=HUB_METADATA, headers={"Authorization": "Bearer made-up"}
    )
    assert response.status_code == 401

    # A sign-in token of the mobile app lacks `hub.register`.
    request = await mobile.authorization_request(MEMBER_SCOPE)
    tokens = await mobile.exchange_code(
        await browser.authorize(request.url, mobile.redirect_uri), request
    )
    response = await http.post(
        endpoint, json=HUB_METADATA, headers={"Authorization": f"Bearer {tokens.access_token}"}
    )
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"


BAD_METADATA = [
    ({"scope": "openid hub.register"}, "invalid_client_metadata"),  # scope escalation
    ({"redirect_uris": []}, "invalid_redirect_uri"),
    ({"redirect_uris": ["http://192.168.1.20:8181/cb#frag"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
    ({"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
    ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
]


async def test_bad_client_metadata_is_refused(provider, browser, signed_in, hub_setup, http):
    onboarding = await onboard(browser, hub_setup)  # one onboarding for every case
    for changes, error in BAD_METADATA:
        with pytest.raises(OidcError) as refused:
            await hub_setup.register(onboarding.access_token, HUB_METADATA | changes)
        assert (refused.value.status, refused.value.error) == (400, error), changes
    # Nothing was registered: the account page lists only the hub setup client.
    page = await browser.http.get("/account")
    assert page.text.count("data-client-id=") == 1


async def test_a_body_that_is_not_json_metadata_is_refused(
    provider, browser, signed_in, hub_setup, http
):
    onboarding = await onboard(browser, hub_setup)
    for body in (b"{not json", b"[1, 2]", b"\xff"):
        response = await http.post(
            f"{provider.base_url}/oauth/register",
            content=body,
            headers={
                "Authorization": f"Bearer {onboarding.access_token}",
                "Content-Type": "application/json",
            },
        )
        assert response.status_code == 400, body
        assert response.json()["error"] == "invalid_client_metadata"


async def test_revoking_a_hub_from_the_account_page(provider, browser, signed_in, hub_setup, http):
    hub = await registered_hub(provider, browser, hub_setup, http)
    request = await hub.authorization_request(MEMBER_SCOPE)
    tokens = await hub.exchange_code(
        await browser.authorize(request.url, HUB_REDIRECT_URI, consent="allow"), request
    )
    page = await browser.http.get("/account")
    assert "Living room hub" in page.text and "Ethos hub setup" in page.text
    token = csrf_from(page.text)
    response = await browser.http.post(
        "/account/access/revoke", data={"client_id": hub.client_id, "csrf_token": token}
    )
    assert response.status_code == 303 and response.headers["location"] == "/account"

    with pytest.raises(OidcError) as refused:
        await hub.userinfo(tokens.access_token)
    assert refused.value.status == 401
    with pytest.raises(OidcError):
        await hub.refresh(tokens.refresh_token)
    page = await browser.http.get("/account")
    assert f'data-client-id="{hub.client_id}"' not in page.text  # no access any more
    assert "Ethos hub setup" in page.text
    assert f'data-hub="{hub.client_id}"' in page.text  # still linked: unlinking is another step
    # The consent went with it: signing in to the hub asks again.
    again = await hub.authorization_request(MEMBER_SCOPE)
    consent = await browser.follow_until(again.url, HUB_REDIRECT_URI)
    assert not isinstance(consent, str) and 'name="decision"' in consent.text


async def test_revoking_needs_the_form_token(provider, browser, signed_in, hub_setup, http):
    onboarding = await onboard(browser, hub_setup)
    response = await browser.http.post(
        "/account/access/revoke", data={"client_id": hub_setup.client_id}
    )
    assert response.status_code == 403
    assert (await hub_setup.userinfo(onboarding.access_token))["sub"]


async def test_signing_out_of_the_store_ends_its_session(provider, browser, signed_in, mobile):
    page = await browser.http.get("/account")
    token = csrf_from(page.text)
    await browser.http.post("/account/logout", data={"csrf_token": token})
    request = await mobile.authorization_request(MEMBER_SCOPE)
    response = await browser.http.get(request.url)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login?")


async def test_the_sign_in_page_may_lead_on_to_a_registered_client_only(
    provider, browser, signed_in, hub_setup, http, unique_id
):
    """Chrome checks `form-action` along the whole redirect chain after the sign-in form."""
    hub = await registered_hub(provider, browser, hub_setup, http)
    request = await hub.authorization_request(MEMBER_SCOPE)
    stranger = StoreBrowser(provider.base_url)
    try:
        first = await stranger.http.get(request.url)
        login = await stranger.http.get(first.headers["location"])
        assert login.status_code == 200
        policy = login.headers["content-security-policy"]
        assert policy.endswith("form-action 'self' http://192.168.1.20:8181")

        # A forged redirect URI never reaches the sign-in page through /oauth/authorize,
        # and named in a hand-made `next` it does not widen the policy.
        forged = request.url.replace("192.168.1.20%3A8181", "evil.example")
        assert (await stranger.http.get(forged)).status_code == 400
        target = forged.split(provider.base_url, 1)[1]
        login = await stranger.http.get("/account/login", params={"next": target})
        assert login.status_code == 200
        assert login.headers["content-security-policy"].endswith("form-action 'self'")
    finally:
        await stranger.aclose()


async def test_the_sign_in_page_names_the_hub_that_asks(
    provider, browser, signed_in, hub_setup, http, mobile
):
    hub = await registered_hub(provider, browser, hub_setup, http)
    stranger = StoreBrowser(provider.base_url)  # a fresh browser: not signed in
    try:
        request = await hub.authorization_request(MEMBER_SCOPE)
        page = await stranger.follow_until(request.url, HUB_REDIRECT_URI)
        assert not isinstance(page, str)
        assert urlsplit(str(page.url)).path == "/account/login"
        assert "signing in to <strong>your hub “Living room hub”</strong>" in page.text

        # The store's own app is not "your hub"; nor is a plain sign-in.
        own = await mobile.authorization_request(MEMBER_SCOPE)
        page = await stranger.follow_until(own.url, provider.mobile_redirect_uri)
        assert not isinstance(page, str) and "your hub" not in page.text
        plain = await stranger.http.get("/account/login")
        assert "your hub" not in plain.text
    finally:
        await stranger.aclose()
