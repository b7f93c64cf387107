"""A refresh answer lost on the network does not log a hub out; the short grace that allows
it can neither fork a token family nor outlive itself."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from cloud.config import CloudSettings, ConfigError
from tests.support.oidc_client import OidcClient, OidcError, StoreBrowser, Tokens

SCOPE = "openid email"
SHORT_GRACE_SECONDS = 1


async def _sign_in(browser: StoreBrowser, client: OidcClient) -> Tokens:
    request = await client.authorization_request(SCOPE)
    callback = await browser.authorize(request.url, client.redirect_uri or "")
    return await client.exchange_code(callback, request)


async def _assert_dead(client: OidcClient, *tokens: Tokens) -> None:
    for dead in tokens:
        with pytest.raises(OidcError) as refused:
            await client.userinfo(dead.access_token)
        assert refused.value.status == 401


async def test_a_refresh_answer_lost_on_the_network_does_not_log_the_client_out(
    browser, signed_in, mobile
):
    first = await _sign_in(browser, mobile)
    lost = await mobile.refresh(first.refresh_token)  # the answer never reached the client
    retried = await mobile.refresh(first.refresh_token)  # so it sends what it still holds

    assert retried.refresh_token not in (first.refresh_token, lost.refresh_token)
    assert (await mobile.userinfo(retried.access_token))["email"] == signed_in
    # The chain goes on from the retry; the answer that was lost is worth nothing.
    await _assert_dead(mobile, lost)
    assert (await mobile.refresh(retried.refresh_token)).access_token


async def test_the_grace_cannot_fork_a_token_family(browser, signed_in, mobile):
    first = await _sign_in(browser, mobile)
    lost = await mobile.refresh(first.refresh_token)
    retried = await mobile.refresh(first.refresh_token)
    # Someone who did get the "lost" answer shows up: two holders, so nobody keeps it.
    with pytest.raises(OidcError) as refused:
        await mobile.refresh(lost.refresh_token)
    assert refused.value.error == "invalid_grant"
    await _assert_dead(mobile, lost, retried)
    with pytest.raises(OidcError):
        await mobile.refresh(retried.refresh_token)


async def test_the_previous_refresh_token_comes_back_only_once(browser, signed_in, mobile):
    first = await _sign_in(browser, mobile)
    await mobile.refresh(first.refresh_token)
    retried = await mobile.refresh(first.refresh_token)
    with pytest.raises(OidcError) as refused:
        await mobile.refresh(first.refresh_token)
    assert refused.value.error == "invalid_grant"
    await _assert_dead(mobile, retried)


class TestAfterTheGrace:
    @pytest.fixture
    def oauth_settings(self, cloud_settings):
        oauth = replace(cloud_settings.oauth, refresh_grace_seconds=SHORT_GRACE_SECONDS)
        return replace(cloud_settings, oauth=oauth)

    async def test_the_previous_refresh_token_after_the_grace_revokes_the_family(
        self, browser, signed_in, mobile
    ):
        first = await _sign_in(browser, mobile)
        second = await mobile.refresh(first.refresh_token)
        await asyncio.sleep(SHORT_GRACE_SECONDS + 0.5)  # let the grace run out
        with pytest.raises(OidcError) as refused:
            await mobile.refresh(first.refresh_token)
        assert refused.value.error == "invalid_grant"
        await _assert_dead(mobile, second)
        with pytest.raises(OidcError):
            await mobile.refresh(second.refresh_token)


class TestWithoutGrace:
    @pytest.fixture
    def oauth_settings(self, cloud_settings):
        return replace(cloud_settings, oauth=replace(cloud_settings.oauth, refresh_grace_seconds=0))

    async def test_a_zero_grace_makes_any_reuse_revoke_the_family(self, browser, signed_in, mobile):
        first = await _sign_in(browser, mobile)
        second = await mobile.refresh(first.refresh_token)
        with pytest.raises(OidcError):
            await mobile.refresh(first.refresh_token)
        await _assert_dead(mobile, second)


def test_the_grace_is_read_from_the_environment_within_bounds():
    settings = CloudSettings.from_env({"ETHOS_OAUTH_REFRESH_GRACE_SECONDS": "30"})
    assert settings.oauth.refresh_grace_seconds == 30
    for bad in ("-1", "301"):
        with pytest.raises(ConfigError, match="ETHOS_OAUTH_REFRESH_GRACE_SECONDS"):
            CloudSettings.from_env({"ETHOS_OAUTH_REFRESH_GRACE_SECONDS": bad}).validate()
