"""The owner's path in headless Chromium (e2e tier): open the hub, link it (code shown by
the hub, approved in the store), sign in with the store account, see the bought device
adopted and verified, watch occupancy change live, change a setting and see it confirmed."""

from __future__ import annotations

import pytest

from firmware.simulator.radar import RadarTarget
from tests.cloud.common import PASSWORD
from tests.firmware.mqtt_support import DeviceThread, clear_retained, host_port
from tests.hub.ethos_cloud.common import Home, unique_serial
from tests.support.browser import Screenshots, chromium

pytestmark = pytest.mark.browser


async def test_owner_links_the_hub_and_manages_the_device_in_a_browser(
    home: Home, mqtt_broker_url: str
) -> None:
    serial = unique_serial()
    secret = await home.buy(serial)  # bought before the hub exists, as in the story
    device = DeviceThread(
        serial, host_port(mqtt_broker_url), {"on_latency": 0}, secret_hex=secret,
        discovery_prefix=home.prefix,
    ).start()  # fmt: skip
    hub_url = str(home.hub_client.make_url("")).rstrip("/")
    shots = Screenshots("hub-link-and-adopt")
    try:
        async with chromium() as chrome:
            context = await chrome.new_context()
            page = await context.new_page()
            violations: list[str] = []
            page.on(
                "console",
                lambda m: violations.append(m.text) if "Content Security" in m.text else None,
            )
            await page.goto(hub_url + "/")
            await page.wait_for_url("**/setup/hub")  # a new hub's set-up: name first
            await page.click("#setup-hub-next")
            await page.wait_for_url("**/auth/link")
            await page.click("#link-start")
            code = await page.inner_text("#link-user-code")
            assert await page.locator("svg.qr").count() == 1
            await shots.take(page, "hub shows the code")

            store = await context.new_page()
            await store.goto(await page.get_attribute("#link-verification-uri", "href"))
            await store.wait_for_url("**/account/login**")
            await store.fill("input[name=email]", home.email)
            await store.fill("input[name=password]", PASSWORD)
            await store.click("button:has-text('Sign in')")
            await store.wait_for_selector(f"text={code}")
            await store.click("button:has-text('Approve')")
            await shots.take(store, "approved in the store")

            await page.wait_for_selector("#link-linked", timeout=20_000)
            assert home.email in await page.inner_text("#link-account")
            await page.click("#link-sign-in")
            await page.wait_for_url(f"{home.shop.settings.base_url}/**")
            if await page.locator("button:has-text('Allow')").count():
                await page.click("button:has-text('Allow')")
            await page.wait_for_url(hub_url + "/**")

            await page.goto(hub_url + "/devices")
            card = page.locator(f'.adoption-badge[data-serial="{serial}"]')
            await card.wait_for(timeout=20_000)
            assert "Verified" in await card.inner_text()
            await page.click(f'li.card:has(.adoption-badge[data-serial="{serial}"]) h2 a')
            await page.wait_for_selector('#adoption[data-verified="true"]')
            assert home.email in await page.inner_text("#adoption-owner")
            await page.wait_for_selector("#presence-occupancy:text('off')")
            await shots.take(page, "device adopted and verified")

            device.scene.target = RadarTarget(2, 0, 0, 210, 66)
            await page.wait_for_selector("#presence-occupancy:text('on')", timeout=10_000)
            await shots.take(page, "occupancy on, live")

            await page.fill("#setting-hold_time-input", "45")
            await page.click("#setting-hold_time-set")
            await page.wait_for_selector('#settings-result[data-outcome="confirmed"]')
            assert "confirmed by the device" in await page.inner_text("#settings-result")
            assert await page.inner_text("#setting-hold_time-value") == "45"
            await shots.take(page, "setting confirmed")
            assert violations == []
        assert device.device.fusion.hold_ms == 45000
    finally:
        device.stop()
        await clear_retained(mqtt_broker_url, serial, home.prefix)
