"""The operator ships in headless Chromium (e2e tier): a buyer pays an order; an operator
granted from the command line enrols TOTP, sees the paid order in the console, packs it and
ships it with a tracking number; the buyer's mail arrives with it, and the buyer sees the
tracking in their order history and on the order's page."""

from __future__ import annotations

import base64
import re

import pytest
from playwright.async_api import Page

from cloud.admin import totp
from cloud.admin.cli import run_role_change
from tests.cloud.common import PASSWORD, sign_up_and_confirm
from tests.support.browser import Screenshots, chromium, fill_shipping_address

pytestmark = pytest.mark.browser

TRACKING_NUMBER = "JD014600006281"


async def _sign_in(page: Page, base: str, email: str, next_path: str) -> None:
    await page.goto(f"{base}/account/login?next={next_path}")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button:has-text('Sign in')")


async def test_operator_packs_and_ships_and_the_buyer_sees_the_tracking(
    shop, aiohttp_client, unique_id
):
    buyer = f"buyer-{unique_id}@example.com"
    operator = f"op-{unique_id}@example.org"
    await shop.add_stock("EPD-1", 1)
    # Accounts are made over HTTP (sign-up and its mailed link are tested elsewhere).
    await sign_up_and_confirm(await aiohttp_client(shop.client.server), shop.smtp, buyer)
    await sign_up_and_confirm(await aiohttp_client(shop.client.server), shop.smtp, operator)
    assert await run_role_change(shop.settings, operator, grant=True) == 0
    base = str(shop.client.make_url("")).rstrip("/")
    shots = Screenshots("operator-ships")

    async with chromium() as browser:
        # The buyer buys and pays.
        buying = await (await browser.new_context()).new_page()
        await _sign_in(buying, base, buyer, "/products/EPD-1")
        await buying.wait_for_url(f"{base}/products/EPD-1")
        await buying.click("button:has-text('Add to cart')")
        await buying.wait_for_url(f"{base}/cart")
        await buying.click("text=Check out")
        await fill_shipping_address(buying)
        await buying.click("button:has-text('Place order')")
        await buying.wait_for_selector("text=Waiting for payment")
        order_url = buying.url
        order_id = order_url.rsplit("/", 1)[-1]
        await buying.click("text=Pay with bitcoin")
        await buying.wait_for_url(f"{shop.sim.url}/i/*")
        await buying.click("button:has-text('Pay in full')")
        await buying.click("button:has-text('Mine blocks (confirm)')")
        await shop.wait_status(order_id, "paid")

        # The operator enrols the second factor and finds the paid order.
        console = await (await browser.new_context()).new_page()
        await _sign_in(console, base, operator, "/admin/shipping")
        await console.wait_for_url(re.compile(r".*/admin/totp/enrol\?next=.*"))
        await shots.take(console, "second factor enrolment")
        key = (await console.inner_text("code.totp-secret")).strip()
        secret = base64.b32decode(key + "=" * (-len(key) % 8))
        await console.fill("input[name=code]", totp.code_at(secret))
        await console.click("button:has-text('Confirm')")
        await console.click("text=Continue to the console")
        await console.wait_for_url(f"{base}/admin/shipping")
        card = console.locator(f"#order-{order_id}")
        await card.wait_for()
        assert "Ada Lovelace" in await card.inner_text()
        await shots.take(console, "paid order to pack")

        await card.locator("button:has-text('Mark packed')").click()
        await console.wait_for_url(f"{base}/admin/shipping#order-{order_id}")
        card = console.locator(f"#order-{order_id}")
        await card.locator("input[name=carrier]").fill("DHL")
        await card.locator("input[name=tracking_number]").fill(TRACKING_NUMBER)
        await shots.take(console, "packed, tracking typed")
        await card.locator("button:has-text('Mark shipped')").click()
        await console.wait_for_url(f"{base}/admin/shipping#order-{order_id}")
        assert TRACKING_NUMBER in await console.locator(f"#order-{order_id}").inner_text()

        # The buyer's mail, then their history and the order's page.
        message = await shop.smtp.wait_for(buyer, count=3)  # confirmation, receipt, shipped
        assert "has shipped" in message["Subject"] and TRACKING_NUMBER in message.get_content()
        await buying.goto(f"{base}/orders")
        history = buying.locator(f"tr:has(a[href='/orders/{order_id}'])")
        assert TRACKING_NUMBER in await history.inner_text()
        await shots.take(buying, "history with tracking")
        await buying.goto(order_url)
        await buying.wait_for_selector(f"text=tracking number {TRACKING_NUMBER}")
