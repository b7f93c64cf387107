"""Headless Debian Chromium driven by Playwright, with screenshots kept as test artifacts."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Locator, Page, async_playwright

from tests.support.processes import ROOT

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling home, which this
# machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
# A real detector refused by the broker retries with a back-off capped at this (firmware
# presence_const.BACKOFF_MAX_MS).
DEVICE_RETRY_S = 60.0


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


class Screenshots:
    """Numbered screenshots of each step, in test-artifacts/<story>/."""

    def __init__(self, story: str) -> None:
        self.directory = ARTIFACTS / story
        self.directory.mkdir(parents=True, exist_ok=True)
        for old in self.directory.glob("*.png"):
            old.unlink()
        self._count = 0

    async def take(self, page: Page, step: str) -> Path:
        self._count += 1
        name = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.directory / f"{self._count:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path


async def assert_no_sideways_scroll(page: Page) -> None:
    """The page fits its viewport's width: nothing to scroll sideways (phone sizes)."""
    width, scroll = await page.evaluate(
        "[document.documentElement.clientWidth, document.documentElement.scrollWidth]"
    )
    assert scroll <= width, f"{page.url} scrolls sideways: {scroll} px wide in {width} px"


async def reload_until_visible(page: Page, url: str, locator: Locator, timeout_s: float) -> None:
    """Open ``url`` again every few seconds until ``locator`` shows (pages that are not live)."""
    deadline = time.monotonic() + timeout_s
    while True:
        await page.goto(url)
        if await locator.count():
            await locator.first.wait_for()
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not show {locator} within {timeout_s:.0f} s")
        await asyncio.sleep(3)


# The checkout's shipping address, as a buyer types it (field name → value).
BROWSER_SHIPPING_ADDRESS = {
    "ship_name": "Ada Lovelace",
    "ship_line1": "12 St James's Square",
    "ship_postcode": "SW1Y 4JH",
    "ship_city": "London",
}


async def fill_shipping_address(page: Page) -> None:
    """Fill the checkout's "Ship to" fields."""
    for name, value in BROWSER_SHIPPING_ADDRESS.items():
        await page.fill(f"input[name={name}]", value)
    await page.select_option("select[name=ship_country]", "GB")
