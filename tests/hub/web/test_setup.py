"""The first-run set-up against the real store: a fresh browser meets a hub page that says
what will happen, names the hub and its place, links it, then (signed in) picks rooms and
finishes; the flow is left halfway and resumed where it was; the store sign-in is announced
by a hub page first; the Store account page keeps the menu and the device count is right
straight after linking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from hub.core.onboarding import STEP_HUB, STEP_ROOMS, Onboarding
from hub.web.keys import HUB_KEY
from tests.hub.common import make_config, running_hub
from tests.hub.web.linked_home import LinkedHome, linked_home_factory  # noqa: F401

TOKEN = 'name="token" value="'
FRESH_NAVIGATION = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none"}


@pytest.fixture
async def home(
    linked_home_factory: Callable[..., Awaitable[LinkedHome]],  # noqa: F811
) -> LinkedHome:
    return await linked_home_factory()


def _token(page: str) -> str:
    return page.split(TOKEN, 1)[1].split('"', 1)[0]


async def test_set_up_is_left_halfway_and_resumed_then_finished(
    home: LinkedHome, unique_id: str
) -> None:
    first = await home.browser()
    welcome = await first.get("/")  # a fresh browser on a fresh hub
    assert welcome.url.path == "/setup/hub"
    page = await welcome.text()
    assert "Welcome to your Ethos hub" in page and "you sign in at the store" in page
    refused = await first.post("/setup/hub", data={"token": "forged", "name": "X"})
    assert refused.status == 403
    bad = await first.post(
        "/setup/hub", data={"token": _token(page), "latitude": "north", "longitude": "2"}
    )
    assert bad.status == 400 and "latitude is a number of degrees" in await bad.text()
    saved = await first.post(
        "/setup/hub",
        data={"token": _token(page), "name": "Maison", "latitude": "48.85",
              "longitude": "2.35", "time_zone": "Europe/Paris"},
        allow_redirects=False,
    )  # fmt: skip
    assert saved.headers["Location"] == "/setup"
    assert home.app[HUB_KEY].core_config.name == "Maison"

    # Left here; another browser later resumes at the link step, not at the start.
    later = await home.browser()
    resumed = await later.get("/")
    assert resumed.url.path == "/auth/link"
    link_page = await resumed.text()
    assert 'id="setup-progress"' in link_page and "Name and place ✓" in link_page

    owner = await home.person(f"owner-{unique_id}@example.org")
    await home.link(later, owner)
    # Rooms and devices are the signed-in owner's: a stranger is sent to sign in.
    stranger = await (await home.browser()).get("/setup/rooms", allow_redirects=False)
    assert stranger.headers["Location"] == "/auth/login?next=/setup"
    signed = await home.sign_in(later, owner, next_path="/setup")
    assert signed.headers["Location"] == "/setup"

    account = await (await later.get("/auth/link")).text()
    assert '<a href="/rooms">Rooms</a>' in account  # the hub's menu stays
    assert "0 owned, in sync with the store" in account and "(None)" not in account

    rooms = await later.get("/setup")
    assert rooms.url.path == "/setup/rooms"
    picked = await later.post(
        "/setup/rooms",
        data=[("token", _token(await rooms.text())), ("room", "Kitchen"), ("room", "Hall"),
              ("other", "Attic, , Garage")],
        allow_redirects=False,
    )  # fmt: skip
    assert picked.headers["Location"] == "/setup"
    hub = home.app[HUB_KEY]
    assert [a.name for a in hub.areas.async_all()] == ["Kitchen", "Hall", "Attic", "Garage"]
    devices = await later.get("/setup")
    assert devices.url.path == "/setup/devices"
    assert 'id="setup-no-devices"' in await devices.text()
    finished = await later.post(
        "/setup/devices", data={"token": _token(await devices.text())}, allow_redirects=False
    )
    assert finished.headers["Location"] == "/"
    assert (await later.get("/setup", allow_redirects=False)).headers["Location"] == "/"


async def test_a_fresh_browser_is_told_before_it_is_sent_to_the_store(
    home: LinkedHome, unique_id: str
) -> None:
    owner = await home.person(f"owner-{unique_id}@example.org")
    await home.link(await home.browser(), owner)
    fresh = await home.browser()
    told = await fresh.get("/auth/login?next=/devices", headers=FRESH_NAVIGATION)
    assert told.status == 200
    page = await told.text()
    assert 'id="login-about-to"' in page and home.store_url in page
    assert 'href="/auth/login?next=/devices&amp;go=1"' in page
    onward = await fresh.get(
        "/auth/login?next=/devices&go=1", headers=FRESH_NAVIGATION, allow_redirects=False
    )
    assert onward.status == 302 and onward.headers["Location"].startswith(home.store_url)
    # A click on a hub page (same origin) goes straight on.
    clicked = await fresh.get(
        "/auth/login",
        headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "same-origin"},
        allow_redirects=False,
    )
    assert clicked.status == 302


async def test_set_up_progress_survives_a_restart(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    async with running_hub(config) as hub:
        onboarding = Onboarding(hub.storage, lambda: False)
        await onboarding.async_load()
        assert onboarding.next_step == STEP_HUB
        await onboarding.async_complete(STEP_HUB)
    async with running_hub(config) as hub:
        linked = Onboarding(hub.storage, lambda: True)
        await linked.async_load()
        assert linked.next_step == STEP_ROOMS  # name given, link made: rooms are next
        assert not linked.finished
