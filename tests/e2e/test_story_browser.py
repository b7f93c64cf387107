"""The main story as a person does it, in headless Chromium (e2e tier).

Today it covers steps 1–2 (sign up, confirm by mail, sign in); the later steps join as
their components land.
"""

from __future__ import annotations

import pytest

from tests.cloud.common import LINK_RE
from tests.support.browser import Screenshots, chromium

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


async def test_sign_up_confirm_and_sign_in(store_process, unique_id):
    email = f"story-{unique_id}@example.org"
    shots = Screenshots("story")
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(store_process.url)
        assert await page.locator("h1").first.inner_text() == "Smart home, on your terms"
        await shots.take(page, "store home")

        await page.click("text=Create account")
        await page.fill("input[name=email]", email)
        await page.fill("input[name=password]", PASSWORD)
        await shots.take(page, "sign up form")
        await page.click("button:has-text('Create account')")
        await page.wait_for_selector("text=Check your email")
        await shots.take(page, "check your email")

        mail = await store_process.mail.wait_for(email)
        link = LINK_RE.findall(mail.get_content())[0]
        await page.goto(link)
        await page.wait_for_selector("text=Welcome to Ethos")
        assert email in await page.content()
        await shots.take(page, "confirmed and signed in")

        await page.click("button:has-text('Sign out')")
        await page.click("text=Sign in")
        await page.fill("input[name=email]", email)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button:has-text('Sign in')")
        await page.wait_for_selector(f"text={email}")
        await shots.take(page, "signed in again")

        # At phone size the same pages stay usable (no horizontal scrolling).
        phone = await browser.new_page(viewport={"width": 390, "height": 844})
        await phone.goto(store_process.url)
        scroll_width = await phone.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= 390
        await shots.take(phone, "store at phone size")
