"""A household member signs in to a hub in headless Chromium (e2e tier): the store's login,
the consent screen and the redirect chain to the hub (another origin) pass Chrome's
`form-action` checks, which also apply to the redirects that follow a form post."""

from __future__ import annotations

import pytest
from aiohttp import web

from tests.cloud.common import PASSWORD
from tests.cloud.oauth.hubs import HUB_METADATA, MEMBER_SCOPE, hub_client, onboard
from tests.support.browser import chromium

pytestmark = pytest.mark.browser


async def test_member_signs_in_to_a_hub_in_a_real_browser(
    provider, browser, signed_in, hub_setup, http, unique_id, aiohttp_server
):
    arrived: list[str] = []

    async def hub_callback(request: web.Request) -> web.Response:  # the hub's page
        arrived.append(str(request.url))
        return web.Response(text="signed in to the hub")

    hub_app = web.Application()
    hub_app.router.add_get("/auth/callback", hub_callback)
    hub_server = await aiohttp_server(hub_app)
    redirect_uri = str(hub_server.make_url("/auth/callback"))
    onboarding = await onboard(browser, hub_setup)
    registered = await hub_setup.register(
        onboarding.access_token, HUB_METADATA | {"redirect_uris": [redirect_uri]}
    )
    hub = hub_client(provider.base_url, registered, http, redirect_uri)
    member = await provider.new_account(f"member-{unique_id}@example.org")

    async with chromium() as chrome:
        page = await chrome.new_page()
        violations: list[str] = []
        page.on(
            "console",
            lambda msg: violations.append(msg.text) if "Content Security" in msg.text else None,
        )

        async def sign_in_to_hub(expect_consent: bool) -> str:
            request = await hub.authorization_request(MEMBER_SCOPE)
            await page.goto(request.url)
            await page.wait_for_url(f"{provider.base_url}/account/login**")
            await page.fill("input[name=email]", member)
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button:has-text('Sign in')")
            if expect_consent:
                await page.wait_for_selector("text=Allow Living room hub?")
                await page.click("button:has-text('Allow')")
            await page.wait_for_selector("text=signed in to the hub")
            tokens = await hub.exchange_code(arrived[-1], request)
            return tokens.id_claims["email"]

        assert await sign_in_to_hub(expect_consent=True) == member
        # Signed out, then back: the consent is remembered, so the sign-in form's post
        # leads straight through /oauth/authorize to the hub (the chain Chrome checks).
        await page.goto(f"{provider.base_url}/account")
        await page.click("button:has-text('Sign out')")
        assert await sign_in_to_hub(expect_consent=False) == member
        assert len(arrived) == 2
        assert violations == []
