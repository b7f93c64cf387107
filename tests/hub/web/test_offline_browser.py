"""Offline sign-in in a real Chromium: the form post must pass the hub's same-origin check.

Browsers derive the ``Origin`` of a form post from the page's referrer policy; with the
wrong policy a same-origin post arrives as ``Origin: null`` and is refused. Only a real
browser shows this, so the test drives Chromium through sign-in, then the store goes away.
"""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from hub.web.app import create_app
from hub.web.auth.const import SESSION_COOKIE
from tests.hub.common import make_config
from tests.hub.web.oidc_provider import STATE_KEY, create_provider
from tests.support.browser import chromium
from tests.support.processes import free_port

pytestmark = pytest.mark.browser

CLIENT_ID = "ethos-hub-browser"


async def test_known_user_continues_offline_in_chromium(tmp_path) -> None:
    provider_app = create_provider(CLIENT_ID)
    provider = TestServer(provider_app)
    await provider.start_server()
    provider_app[STATE_KEY].issuer = str(provider.make_url("")).rstrip("/")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = make_config(
        tmp_path,
        cloud_url=provider_app[STATE_KEY].issuer,
        client_id=CLIENT_ID,
        redirect_uri=f"{base}/auth/callback",
    )
    hub = TestServer(create_app(config), port=port)
    await hub.start_server()
    try:
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(f"{base}/auth/login?next=/devices")
            # A browser arriving by itself is told it goes to the store to sign in.
            await page.click("#login-continue")
            await page.wait_for_url(f"{base}/devices")
            assert "Alice · owner" in await page.content()

            await page.context.clear_cookies(name=SESSION_COOKIE)
            await provider.close()  # the store is unreachable from now on
            await page.goto(f"{base}/auth/login?next=/devices")
            await page.get_by_role("button", name="Continue offline as Alice").click()
            await page.wait_for_url(f"{base}/devices")
            assert "Alice · owner · offline" in await page.content()
    finally:
        await hub.close()
        await provider.close()
