"""The refresh grant's rules on the store's own database (PostgreSQL with --e2e): one
winner among concurrent refreshes of one token, an expired token refused, a token held
to its client."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import update

from cloud.db import utcnow
from cloud.oauth.models import OAuthToken
from cloud.security import token_hash
from cloud.web.keys import ENGINE
from tests.support.oidc_client import OidcClient, OidcError, StoreBrowser, Tokens

SCOPE = "openid email"
CONCURRENT = 6


@pytest.fixture
def oauth_settings(cloud_settings):
    # No grace: any second use of a spent refresh token is reuse.
    return replace(cloud_settings, oauth=replace(cloud_settings.oauth, refresh_grace_seconds=0))


async def _sign_in(browser: StoreBrowser, client: OidcClient) -> Tokens:
    request = await client.authorization_request(SCOPE)
    callback = await browser.authorize(request.url, client.redirect_uri or "")
    return await client.exchange_code(callback, request)


async def _is_live(client: OidcClient, tokens: Tokens) -> bool:
    try:
        await client.userinfo(tokens.access_token)
    except OidcError as refused:
        assert refused.status == 401
        return False
    return True


async def test_concurrent_refreshes_of_one_token_have_one_winner_and_revoke_the_family(
    browser, signed_in, mobile
):
    first = await _sign_in(browser, mobile)
    results = await asyncio.gather(
        *(mobile.refresh(first.refresh_token) for _ in range(CONCURRENT)), return_exceptions=True
    )
    winners = [result for result in results if isinstance(result, Tokens)]
    losers = [result for result in results if not isinstance(result, Tokens)]
    assert len(winners) == 1
    assert all(isinstance(lost, OidcError) and lost.error == "invalid_grant" for lost in losers)
    # The replays were reuse: the whole family is out, the winner's tokens included.
    assert not await _is_live(mobile, winners[0])
    assert not await _is_live(mobile, first)
    with pytest.raises(OidcError) as refused:
        await mobile.refresh(winners[0].refresh_token)
    assert refused.value.error == "invalid_grant"


async def test_an_expired_refresh_token_is_refused_and_leaves_the_access_token(
    provider, browser, signed_in, mobile
):
    tokens = await _sign_in(browser, mobile)
    async with provider.app[ENGINE].begin() as connection:
        await connection.execute(
            update(OAuthToken)
            .where(OAuthToken.refresh_token_hash == token_hash(tokens.refresh_token))  # type: ignore[arg-type]
            .values(refresh_expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(OidcError) as refused:
        await mobile.refresh(tokens.refresh_token)
    assert refused.value.error == "invalid_grant"
    # Expiry is not reuse: the family is not revoked.
    assert await _is_live(mobile, tokens)


async def test_a_refresh_token_presented_by_another_client_is_refused_and_stays_usable(
    provider, browser, signed_in, mobile, hub_setup
):
    tokens = await _sign_in(browser, mobile)
    with pytest.raises(OidcError) as refused:
        await hub_setup.refresh(tokens.refresh_token)
    assert refused.value.error == "invalid_grant"
    with pytest.raises(OidcError) as unknown:
        await OidcClient(provider.base_url, "nobody", mobile.http).refresh(tokens.refresh_token)
    assert unknown.value.error == "invalid_client"
    # Its own client still refreshes it: a refusal spent nothing.
    assert (await mobile.refresh(tokens.refresh_token)).access_token


async def test_a_refresh_without_a_token_is_an_invalid_request(mobile):
    response = await mobile.http.post(
        f"{mobile.issuer}/oauth/token",
        data={"grant_type": "refresh_token", "client_id": mobile.client_id},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["Cache-Control"] == "no-store"
