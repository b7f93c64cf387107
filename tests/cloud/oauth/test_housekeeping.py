"""What the provider forgets over time, and what it never writes to its logs."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select, update

from cloud.db import utcnow
from cloud.oauth import grants
from cloud.oauth.models import AuthorizationCode, DeviceGrant, OAuthToken
from cloud.web.keys import DB

SCOPE = "openid email"


async def _count(provider, model) -> int:
    async with provider.app[DB]() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_expired_codes_grants_and_dead_tokens_are_forgotten(
    provider, browser, signed_in, mobile, hub_setup
):
    request = await mobile.authorization_request(SCOPE)
    live = await mobile.exchange_code(
        await browser.authorize(request.url, mobile.redirect_uri), request
    )
    await hub_setup.start_device_flow("openid")
    assert await _count(provider, AuthorizationCode) == 1
    assert await _count(provider, OAuthToken) == 1

    # Nothing usable is forgotten.
    async with provider.app[DB]() as session, session.begin():
        assert await grants.purge_expired(session, utcnow()) == 0
    # Two days later the code and device grant are long dead; the token's refresh lives.
    later = utcnow() + timedelta(days=2)
    async with provider.app[DB]() as session, session.begin():
        assert await grants.purge_expired(session, later) == 2
    assert await _count(provider, AuthorizationCode) == 0
    assert await _count(provider, DeviceGrant) == 0
    assert (await mobile.refresh(live.refresh_token)).access_token

    # Once the refresh token is past its lifetime too, the rows go.
    async with provider.app[DB]() as session, session.begin():
        await session.execute(
            update(OAuthToken).values(refresh_expires_at=utcnow() - timedelta(days=1))
        )
        assert await grants.purge_expired(session, later) == 2  # the original and its rotation


async def test_tokens_never_reach_the_logs(provider, browser, signed_in, mobile, caplog):
    caplog.set_level(logging.DEBUG)
    request = await mobile.authorization_request(SCOPE)
    tokens = await mobile.exchange_code(
        await browser.authorize(request.url, mobile.redirect_uri), request
    )
    refreshed = await mobile.refresh(tokens.refresh_token)
    with_secrets = (tokens.access_token, tokens.refresh_token, refreshed.refresh_token)
    assert caplog.records, "the flow logged nothing at all: the check would be empty"
    for secret in with_secrets:
        assert secret not in caplog.text
