"""The store's part of a newcomer's first hour, in headless Chromium at desktop and phone
size (e2e tier): browse, read help and legal pages, sign up (a common password refused
first), buy, pay on the BTCPay simulator, see the paid order with its invoice, orders and
devices. At phone size every page must fit the screen's width; on every page, no request
fails (the simulator's favicon included) and no CSP violation is logged.
Screenshots land in test-artifacts/store-first-hour-<device>/.
"""

from __future__ import annotations

import pytest

from tests.cloud.common import LINK_RE
from tests.e2e.conftest import import_units
from tests.support.browser import (
    Screenshots,
    assert_no_sideways_scroll,
    chromium,
    fill_shipping_address,
)

pytestmark = pytest.mark.browser

PASSWORD = "violet kettle orbit mango"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DEVICES = {"desktop": {"viewport": {"width": 1280, "height": 900}}, "phone": PHONE}


@pytest.mark.parametrize("device", sorted(DEVICES))
async def test_the_stores_first_hour(store_stack, unique_id, device):
    store, btcpay = store_stack.store_url, store_stack.btcpay_url
    unit, *_ = import_units(store_stack, ["EPD-1", "TH-BTHOME", "PLUG-OPEN"])
    email = f"first-hour-{unique_id}@example.org"
    shots = Screenshots(f"store-first-hour-{device}")
    failed: list[str] = []
    violations: list[str] = []
    async with chromium() as browser:
        context = await browser.new_context(**DEVICES[device])
        page = await context.new_page()
        # A refused form answers 422 on purpose; a missing file or a server error never.
        page.on(
            "response",
            lambda r: failed.append(f"{r.status} {r.url}") if r.status in (404, 500) else None,
        )
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )

        async def step(name: str) -> None:
            await page.wait_for_load_state("load")
            text = await page.inner_text("body")
            assert "None" not in text and "0E-" not in text, name
            if device == "phone":
                await assert_no_sideways_scroll(page)
            await shots.take(page, name)

        await page.goto(store)
        await step("store home")
        await page.select_option("select[name=category]", "presence")
        await page.click("button:has-text('Show')")
        await page.wait_for_selector("h2.results")
        assert await page.locator("section.recommendations").count() == 0
        await step("filtered results replace the picks")

        await page.goto(f"{store}/products/EPD-1")
        assert "1 left" in await page.inner_text(".availability")
        await step("product page with availability")

        for link, heading in (
            ("Help", "How Ethos works"),
            ("Privacy", "Privacy"),
            ("Terms", "Terms"),
        ):
            await page.click(f"footer a:has-text('{link}')")
            await page.wait_for_selector(f"h1:has-text('{heading}')")
            await step(f"{link.lower()} page")

        await page.click("text=Create account")
        await page.fill("input[name=email]", email)
        await page.fill("input[name=password]", "password1234")
        await page.click("button:has-text('Create account')")
        await page.wait_for_selector("#password-error")
        assert "most common passwords" in await page.inner_text("#password-error")
        await step("a common password is refused with advice")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button:has-text('Create account')")
        await page.wait_for_selector("text=Check your email")
        await step("check your email")
        mail = await store_stack.mail.wait_for(email)
        await page.goto(LINK_RE.findall(mail.get_content())[0])
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button:has-text('Confirm my address')")
        await page.wait_for_selector("text=Welcome to Ethos")
        await step("confirmed and signed in")

        await page.goto(f"{store}/products/EPD-1")
        await page.click("button:has-text('Add to cart')")
        await page.wait_for_url(f"{store}/cart")
        await step("cart with a check out button")
        await page.click("button:has-text('Check out')")
        await page.wait_for_selector(f"text=Ordering as {email}")
        await step("checkout")
        await fill_shipping_address(page)
        await page.click("button:has-text('Place order')")
        await page.wait_for_selector("text=Waiting for payment")
        order_url = page.url
        await step("order waiting for payment")

        await page.click("text=Pay with bitcoin")
        await page.wait_for_url(f"{btcpay}/i/*")
        text = await page.inner_text("body")
        assert "0E-" not in text and "(None)" not in text
        await step("btcpay simulator invoice")
        await page.click("button:has-text('Pay and confirm')")
        await page.wait_for_selector("strong.status:has-text('Settled')")
        await step("invoice paid and confirmed")
        await page.click("text=All invoices")
        assert await page.locator("table a[href^='/i/']").count() == 1
        await step("simulator lists its invoices")

        await page.goto(order_url)
        await page.wait_for_selector(f"code:has-text('{unit.serial}')", timeout=30_000)
        assert await page.locator(".invoice-link a:has-text('View the invoice')").count() == 1
        await step("order paid, with its invoice")
        await page.click("header a:has-text('Orders')")
        await page.wait_for_selector("table.orders")
        await step("orders")
        await page.click("header a:has-text('Devices')")
        await page.wait_for_selector(f"code:has-text('{unit.serial}')")
        await page.click("details summary")
        await step("devices with the claim secret shown")
        await context.close()
    assert failed == []
    assert violations == []
