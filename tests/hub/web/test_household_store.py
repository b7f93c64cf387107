"""Who gets into a linked hub, against the real store: the linked account (its owner),
people the owner invited by email or with a one-time link, and nobody else."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from firmware.simulator.firmware_path import ensure_firmware_importable
from hub.web.auth.const import KNOWN_USER_COOKIE, SESSION_COOKIE
from hub.web.keys import AUTH_KEY, HUB_KEY
from tests.hub.web.linked_home import LinkedHome, linked_home_factory  # noqa: F401

ensure_firmware_importable()

from tests.firmware.mqtt_support import DeviceThread, clear_retained, host_port  # noqa: E402
from tests.hub.ethos_presence.test_presence_page import _device_id  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402

INVITE_URL = re.compile(r'id="invite-link-url">([^<]+)<')


@pytest.fixture
async def home(
    linked_home_factory: Callable[..., Awaitable[LinkedHome]],  # noqa: F811
) -> LinkedHome:
    return await linked_home_factory()


async def _owner(home: LinkedHome, unique_id: str):
    owner = await home.person(f"owner-{unique_id}@example.org")
    browser = await home.browser()
    await home.link(browser, owner)
    assert (await home.sign_in(browser, owner)).status == 303
    return browser


def _cookies(browser) -> set[str]:
    return {cookie.key for cookie in browser.session.cookie_jar}


async def test_a_store_account_nobody_invited_cannot_read_or_control_the_hub(
    linked_home_factory: Callable[..., Awaitable[LinkedHome]],  # noqa: F811
    mqtt_broker_url: str,
    unique_id: str,
) -> None:
    prefix, serial = f"ha_household_{unique_id}", f"EPD-H{unique_id}"
    home = await linked_home_factory(
        integrations=("mqtt", "ethos_cloud", "ethos_presence"), discovery_prefix=prefix
    )
    await _owner(home, unique_id)
    device = DeviceThread(
        serial, host_port(mqtt_broker_url), {"on_latency": 0}, discovery_prefix=prefix
    ).start()
    try:
        hub = home.app[HUB_KEY]
        await wait_until(lambda: _device_id(hub, serial) is not None)
        device_id = _device_id(hub, serial)
        hold_before = device.device.fusion.hold_ms

        stranger = await home.person(f"stranger-{unique_id}@example.org")
        browser = await home.browser()
        refused = await home.sign_in(browser, stranger)
        assert refused.status == 403
        assert "Ask the hub's owner to invite you" in await refused.text()
        assert not {SESSION_COOKIE, KNOWN_USER_COOKIE} & _cookies(browser)

        assert (await browser.get("/api/states")).status == 401
        history = await browser.get(
            f"/devices/{device_id}?presence_hours=24", allow_redirects=False
        )
        assert history.status == 302 and history.headers["Location"].startswith("/auth/login")
        changed = await browser.post(
            f"/devices/{device_id}/presence/settings",
            data={"key": "hold_time", "value": "5"},
            allow_redirects=False,
        )
        assert changed.status == 302 and changed.headers["Location"].startswith("/auth/login")
        assert device.device.fusion.hold_ms == hold_before
    finally:
        device.stop()
        await clear_retained(mqtt_broker_url, serial, prefix, f"{prefix}/status")


async def test_an_email_invitation_admits_the_account_with_that_address(
    home: LinkedHome, unique_id: str
) -> None:
    owner = await _owner(home, unique_id)
    guest_email = f"Guest-{unique_id}@Example.org"
    invited = await owner.post(
        "/users/invitations", data={"csrf": await home.csrf(owner), "email": guest_email}
    )
    assert invited.status == 200 and guest_email.casefold() in await invited.text()

    other = await home.person(f"other-{unique_id}@example.org")
    assert (await home.sign_in(await home.browser(), other)).status == 403

    guest = await home.person(guest_email.casefold())
    browser = await home.browser()
    assert (await home.sign_in(browser, guest)).status == 303
    assert "· member" in await (await browser.get("/devices")).text()
    people = await (await owner.get("/users")).text()
    assert 'data-role="member"' in people and 'id="open-invitations"' not in people


async def test_an_invitation_link_admits_one_person_once_and_expires(
    home: LinkedHome, unique_id: str
) -> None:
    owner = await _owner(home, unique_id)
    made = await owner.post("/users/invitation-links", data={"csrf": await home.csrf(owner)})
    page = await made.text()
    assert made.status == 200 and 'class="qr"' in page
    url = INVITE_URL.search(page).group(1)  # type: ignore[union-attr]
    token = url.rsplit("/", 1)[1]

    first = await home.browser()
    landing = await first.get(f"/auth/invite/{token}")  # opening spends nothing
    assert landing.status == 200 and 'id="invite-accept"' in await landing.text()
    landing = await first.get(f"/auth/invite/{token}")
    assert landing.status == 200
    friend = await home.person(f"friend-{unique_id}@example.org")
    assert (await home.sign_in(first, friend, invite=token)).status == 303
    assert "· member" in await (await first.get("/devices")).text()

    second = await home.browser()
    assert (await second.get(f"/auth/invite/{token}")).status == 410
    another = await home.person(f"another-{unique_id}@example.org")
    assert (await home.sign_in(second, another, invite=token)).status == 403

    made = await owner.post("/users/invitation-links", data={"csrf": await home.csrf(owner)})
    late = INVITE_URL.search(await made.text()).group(1).rsplit("/", 1)[1]  # type: ignore[union-attr]
    await _expire_invitations(home)
    assert (await second.get(f"/auth/invite/{late}")).status == 410
    assert (await home.sign_in(second, another, invite=late)).status == 403


async def _expire_invitations(home: LinkedHome) -> None:
    """Time passes: every open invitation's expiry is now behind us."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    for row in home.app[AUTH_KEY].invitations.values():
        row.expires_at = past
