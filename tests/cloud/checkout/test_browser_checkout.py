"""A guest buys in headless Chromium (e2e tier): the store's strict CSP (`form-action 'self'`,
which Chrome also applies to redirects after a form POST) never blocks paying on BTCPay."""

from __future__ import annotations

import pytest

from tests.support.browser import chromium, fill_shipping_address

pytestmark = pytest.mark.browser


async def test_guest_buys_and_pays_in_a_real_browser(shop):
    await shop.add_stock("EPD-1", 1)
    base = str(shop.client.make_url("")).rstrip("/")
    async with chromium() as browser:
        page = await browser.new_page()
        violations: list[str] = []
        page.on(
            "console",
            lambda msg: (
                violations.append(msg.text) if "Content Security Policy" in msg.text else None
            ),
        )
        await page.goto(f"{base}/products/EPD-1")
        await page.click("button:has-text('Add to cart')")
        await page.wait_for_url(f"{base}/cart")
        await page.click("text=Check out")
        await page.fill("input[name=email]", "browser@example.com")
        await fill_shipping_address(page)
        await page.click("button:has-text('Place order')")
        await page.wait_for_selector("text=Waiting for payment")
        order_url = page.url
        assert order_url.startswith(f"{base}/orders/")

        await page.click("text=Pay with bitcoin")  # a link to BTCPay's checkout page
        await page.wait_for_url(f"{shop.sim.url}/i/*")
        assert "bitcoin:" in await page.content()
        await page.click("button:has-text('Pay in full')")
        await page.click("button:has-text('Mine blocks (confirm)')")
        await page.click("text=Return to the store")
        await page.wait_for_url(order_url)
        order_id = order_url.rsplit("/", 1)[-1]
        await shop.wait_status(order_id, "paid")
        await page.reload()
        await page.wait_for_selector("text=Your devices")
        assert violations == []
