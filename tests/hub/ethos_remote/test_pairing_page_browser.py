"""The hub's /remote page in Chromium: after "Pair a browser" the code shows, and once a
browser has paired with it the page shows that browser's check digits by itself (it reloads
itself while a code waits), without the person reloading it."""

from __future__ import annotations

import pytest

from tests.hub.ethos_remote.conftest import PLUG
from tests.hub.ethos_remote.home import RemoteHome
from tests.support.browser import Screenshots, chromium

pytestmark = pytest.mark.browser

PAIRED_WAIT_MS = 20_000  # the page reloads every 3 s while a code waits


async def test_the_page_follows_the_pairing_to_the_check_digits(remote_home: RemoteHome) -> None:
    home = remote_home
    await home.share(PLUG)
    await home.wait_connected()
    base = str(home.client.make_url("")).rstrip("/")
    # The owner's session (signed in by the fixture) in Chromium.
    cookies = [
        {"name": morsel.key, "value": morsel.value, "url": base}
        for morsel in home.client.session.cookie_jar
    ]
    shots = Screenshots("hub-remote-pairing")
    async with chromium() as chrome:
        context = await chrome.new_context(viewport={"width": 390, "height": 844})
        await context.add_cookies(cookies)  # type: ignore[arg-type]
        page = await context.new_page()
        await page.goto(base + "/remote")
        await page.click("#remote-pair")
        code = (await page.inner_text("#pairing-code")).strip()
        await shots.take(page, "a code waits")
        async with home.browser(code) as phone:
            await page.wait_for_selector("#paired-check", timeout=PAIRED_WAIT_MS)
            assert (await page.inner_text("#paired-check")).strip() == phone.browser.check
            await shots.take(page, "paired, with the check digits")
