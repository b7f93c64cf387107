"""Token lifetimes, refresh-token rotation with reuse detection, revocation."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from tests.support.oidc_client import OidcClient, OidcError, StoreBrowser, Tokens

SCOPE = "openid profile email devices"


@pytest.fixture
def oauth_settings(cloud_settings):
    # A configured lifetime, to see it is honoured (and not Authlib's default).
    return replace(cloud_settings, oauth=replace(cloud_settings.oauth, access_token_seconds=120))


async def _sign_in(browser: StoreBrowser, client: OidcClient, scope: str = SCOPE) -> Tokens:
    request = await client.authorization_request(scope)
    callback = await browser.authorize(request.url, client.redirect_uri or "")
    return await client.exchange_code(callback, request)


async def test_access_token_lifetime_is_configurable(browser, signed_in, mobile):
    tokens = await _sign_in(browser, mobile)
    assert tokens.expires_in == 120


async def test_each_refresh_rotates_the_refresh_token(browser, signed_in, mobile):
    first = await _sign_in(browser, mobile)
    second = await mobile.refresh(first.refresh_token)
    third = await mobile.refresh(second.refresh_token)
    assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    assert len({first.access_token, second.access_token, third.access_token}) == 3
    assert third.scope.split() == SCOPE.split() and third.expires_in == 120
    assert (await mobile.userinfo(third.access_token))["email"] == signed_in


async def test_a_reused_refresh_token_revokes_the_whole_family(browser, signed_in, mobile):
    first = await _sign_in(browser, mobile)
    second = await mobile.refresh(first.refresh_token)
    third = await mobile.refresh(second.refresh_token)  # the successor was used: no grace
    with pytest.raises(OidcError) as reused:
        await mobile.refresh(first.refresh_token)  # a thief replaying the old one
    assert reused.value.error == "invalid_grant"
    # Everyone in the family is out, the legitimate holder included.
    for access in (first.access_token, second.access_token, third.access_token):
        with pytest.raises(OidcError) as refused:
            await mobile.userinfo(access)
        assert refused.value.status == 401
    with pytest.raises(OidcError) as refused:
        await mobile.refresh(third.refresh_token)
    assert refused.value.error == "invalid_grant"


async def test_concurrent_refreshes_with_one_token_leave_at_most_one_live_token(
    browser, signed_in, mobile
):
    first = await _sign_in(browser, mobile)
    results = await asyncio.gather(
        *(mobile.refresh(first.refresh_token) for _ in range(4)), return_exceptions=True
    )
    assert all(
        isinstance(result, OidcError) and result.error == "invalid_grant"
        for result in results
        if not isinstance(result, Tokens)
    )
    # The grace for a lost answer may hand out a second rotation, but never a second
    # live chain: of everything issued, at most one still opens anything.
    live = []
    for issued in (result for result in results if isinstance(result, Tokens)):
        try:
            await mobile.userinfo(issued.access_token)
        except OidcError as refused:
            assert refused.status == 401
        else:
            live.append(issued)
    assert len(live) <= 1


async def test_refresh_cannot_widen_the_scope(browser, signed_in, mobile):
    tokens = await _sign_in(browser, mobile, "openid email")
    with pytest.raises(OidcError) as refused:
        await mobile.refresh(tokens.refresh_token, scope="openid email devices")
    assert refused.value.error == "invalid_scope"
    narrower = await mobile.refresh(tokens.refresh_token, scope="openid")
    assert narrower.scope == "openid"


async def test_a_refresh_token_belongs_to_its_client(provider, browser, signed_in, mobile, http):
    tokens = await _sign_in(browser, mobile)
    other = OidcClient(provider.base_url, "ethos-hub-setup", http)
    with pytest.raises(OidcError) as refused:
        await other.refresh(tokens.refresh_token)
    assert refused.value.error in ("invalid_grant", "unauthorized_client")


async def test_unknown_refresh_token_is_invalid_grant(mobile):
    with pytest.raises(OidcError) as refused:
        await mobile.refresh("not-a-token")
    assert refused.value.error == "invalid_grant"


async def test_revoking_a_refresh_token_ends_its_access_token_too(browser, signed_in, mobile):
    tokens = await _sign_in(browser, mobile)
    await mobile.revoke(tokens.refresh_token)
    with pytest.raises(OidcError) as refused:
        await mobile.userinfo(tokens.access_token)
    assert refused.value.status == 401
    with pytest.raises(OidcError):
        await mobile.refresh(tokens.refresh_token)


async def test_revoking_an_access_token_and_unknown_tokens(browser, signed_in, mobile):
    tokens = await _sign_in(browser, mobile)
    await mobile.revoke(tokens.access_token)
    with pytest.raises(OidcError):
        await mobile.userinfo(tokens.access_token)
    await mobile.revoke("never-issued")  # RFC 7009 §2.2: 200 for unknown tokens


async def test_revocation_needs_a_known_client(provider, http):
    response = await http.post(
        f"{provider.base_url}/oauth/revoke", data={"token": "x", "client_id": "nobody"}
    )
    assert response.status_code in (400, 401) and response.json()["error"] == "invalid_client"
