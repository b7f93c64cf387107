"""The main story as a person does it, in headless Chromium (e2e tier).

Sign up → confirm by mail → sign in → buy the presence detector → pay on the BTCPay
simulator → the order turns paid and the unit is theirs. Screenshots of every step land
in test-artifacts/story/.
"""

from __future__ import annotations

import pytest

from tests.cloud.common import LINK_RE
from tests.e2e.conftest import import_unit
from tests.support.browser import Screenshots, chromium

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def _csp_watch(page, violations: list[str]) -> None:
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )


async def test_story_in_the_store(store_stack, unique_id):
    store = store_stack.store_url
    unit = import_unit(store_stack)
    email = f"story-{unique_id}@example.org"
    shots = Screenshots("story")
    violations: list[str] = []
    async with chromium() as browser:
        page = await browser.new_page()
        _csp_watch(page, violations)

        # 1. Sign up: a partial account, and a mail with the link.
        await page.goto(store)
        assert await page.locator("h1").first.inner_text() == "Smart home, on your terms"
        await shots.take(page, "store home")
        await page.click("text=Create account")
        await page.fill("input[name=email]", email)
        await page.fill("input[name=password]", PASSWORD)
        await shots.take(page, "sign up form")
        await page.click("button:has-text('Create account')")
        await page.wait_for_selector("text=Check your email")
        await shots.take(page, "check your email")

        # 2. Confirm by mail: signed in.
        mail = await store_stack.mail.wait_for(email)
        await page.goto(LINK_RE.findall(mail.get_content())[0])
        await page.wait_for_selector("text=Welcome to Ethos")
        await shots.take(page, "confirmed and signed in")

        # Sign out and in again with the same credentials.
        await page.click("button:has-text('Sign out')")
        await page.click("text=Sign in")
        await page.fill("input[name=email]", email)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button:has-text('Sign in')")
        await page.wait_for_selector(f"text={email}")
        await shots.take(page, "signed in")

        # 3. Buy the presence detector, pay in bitcoin on BTCPay.
        await page.goto(f"{store}/products/EPD-1")
        await shots.take(page, "product page")
        await page.click("button:has-text('Add to cart')")
        await page.wait_for_url(f"{store}/cart")
        await page.click("text=Check out")
        await page.wait_for_selector(f"text=Ordering as {email}")
        await shots.take(page, "checkout")
        await page.click("button:has-text('Place order')")
        await page.wait_for_selector("text=Waiting for payment")
        order_url = page.url
        await page.click("text=Pay with bitcoin")
        await page.wait_for_url(f"{store_stack.btcpay_url}/i/*")
        assert "bitcoin:" in await page.content()
        await shots.take(page, "btcpay checkout")
        await page.click("button:has-text('Pay in full')")
        await page.click("button:has-text('Mine blocks (confirm)')")
        await page.click("text=Return to the store")
        await page.wait_for_url(order_url)

        # The order page follows the status until the order is paid and the unit is theirs.
        await page.wait_for_selector(f"code:has-text('{unit.serial}')", timeout=30_000)
        await shots.take(page, "order paid")
        await page.goto(f"{store}/devices")
        assert unit.serial in await page.content()
        await shots.take(page, "my devices")

        # At phone size the store stays usable (no horizontal scrolling).
        phone = await browser.new_page(viewport={"width": 390, "height": 844})
        await phone.goto(store)
        assert await phone.evaluate("document.documentElement.scrollWidth") <= 390
        await shots.take(phone, "store at phone size")
    assert violations == []
