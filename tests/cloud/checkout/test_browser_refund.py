"""An overpayment refunded through BTCPay in headless Chromium (e2e tier): the operator
refunds from the console, the buyer opens the claim link from their mail and claims, the
simulator approves and pays, and the store shows the refund paid."""

from __future__ import annotations

import asyncio
import base64
import re
import secrets

import pytest

from cloud.admin import totp
from tests.cloud.admin.common import grant
from tests.cloud.common import PASSWORD, sign_up_and_confirm
from tests.support.browser import Screenshots, chromium, reload_until_visible

pytestmark = pytest.mark.browser

CLAIM_LINK = re.compile(r"(http://\S+/pull-payments/\S+)")
ADDRESS = "bcrt1qbrowserrefund0000000000000000000000000"


async def _claim_link(shop, buyer: str, timeout: float = 20) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for message in shop.smtp.messages_to(buyer):
            if message["Subject"] == "Your Ethos refund is ready to claim":
                match = CLAIM_LINK.search(message.get_content())
                assert match, message.get_content()
                return match.group(1)
        assert asyncio.get_running_loop().time() < deadline, f"no refund mail to {buyer}"
        await asyncio.sleep(0.1)


async def test_an_overpaid_order_is_refunded_until_the_payout_is_paid(shop):
    buyer = f"refund-{secrets.token_hex(4)}@example.com"
    operator = f"op-{secrets.token_hex(4)}@example.org"
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", 1, email=buyer)
    await shop.pay(order_id, "overpay", "confirm")
    order = await shop.wait_status(order_id, "paid")
    await sign_up_and_confirm(shop.client, shop.smtp, operator)
    await grant(shop.settings, operator)
    base = str(shop.client.make_url("")).rstrip("/")
    shots = Screenshots("refund")

    async with chromium() as browser:
        page = await browser.new_page()
        # The operator signs in, enrols the second factor, and refunds the overpayment.
        await page.goto(f"{base}/account/login")
        await page.fill("input[name=email]", operator)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button:has-text('Sign in')")
        await page.goto(f"{base}/admin/orders/{order_id}/refund")
        await page.wait_for_url(f"{base}/admin/totp/enrol**")
        key = (await page.text_content("code.totp-secret") or "").strip()
        secret = base64.b32decode(key + "=" * (-len(key) % 8))
        await page.fill("input[name=code]", totp.code_at(secret))
        await page.click("button:has-text('Confirm')")
        await page.wait_for_selector("text=Your recovery codes")
        await page.goto(f"{base}/admin/orders/{order_id}/refund")
        paid = f"{order.total * 12 / 10:.2f} {order.currency}"
        assert (await page.text_content("dd.paid") or "").strip() == paid
        await shots.take(page, "refund form")
        assert await page.is_checked("input[value=OverpaidAmount]")
        await page.click("button:has-text('Refund')")
        await page.wait_for_selector("text=Refund created")
        await page.wait_for_selector("text=Waiting for the buyer to claim it")
        await shots.take(page, "refund created")

        # The buyer opens the link from the mail and claims it with an address of theirs.
        buyer_page = await browser.new_page()
        await buyer_page.goto(await _claim_link(shop, buyer))
        assert f"Refund of Ethos order {order_id}" in await buyer_page.content()
        await buyer_page.fill("input[name=destination]", ADDRESS)
        await buyer_page.click("button:has-text('Claim')")
        await buyer_page.wait_for_selector("td.payout-state:has-text('AwaitingApproval')")
        await shots.take(buyer_page, "claimed")

        # The simulator's merchant side approves, then pays.
        await buyer_page.click("button:has-text('Approve payout')")
        await buyer_page.wait_for_selector("td.payout-state:has-text('AwaitingPayment')")
        await buyer_page.click("button:has-text('Mark paid')")
        await buyer_page.wait_for_selector("td.payout-state:has-text('Completed')")

        # The store followed the payout webhooks: the refund shows paid, to both sides.
        refund_page = f"{base}/admin/orders/{order_id}/refund"
        done = page.locator("text=Refunded: the payout is paid")
        await reload_until_visible(page, refund_page, done, timeout_s=20)
        assert (await page.text_content("dd.refundable") or "").startswith(
            f"{order.total:.2f} {order.currency}"
        )
        await shots.take(page, "refund paid")
        await buyer_page.goto(f"{base}/orders/{order_id}")
        await buyer_page.wait_for_selector("text=Refunded: the payout is paid")
        await shots.take(buyer_page, "buyer sees the refund")
