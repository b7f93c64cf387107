"""What an integration adds to the web UI's own pages, from its web.py: its page and its
templates, a panel on device pages, a banner on the devices page, and the store link that
sign-in and set-up ask. The hub here runs with the test-only ``doorbell`` integration."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient

from hub.core.models import DeviceInfo
from hub.web.app import create_app
from tests.hub.common import REAL_SOURCE, make_config
from tests.hub.web.conftest import SignedIn, sign_in

FAKE_PAGES = (Path(__file__).parent / "fake_pages", "tests.hub.web.fake_pages")
ClientFactory = Callable[..., Awaitable[TestClient]]


async def _owner(
    tmp_path: Path, aiohttp_client: ClientFactory, *sources: tuple[Path, str], **settings: object
) -> SignedIn:
    config = make_config(tmp_path, integration_sources=sources, **settings)
    client = await aiohttp_client(create_app(config))
    return SignedIn(client, await sign_in(client, "owner-sub", "Olivia"))


async def test_an_integration_adds_its_page_and_panels(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    owner = await _owner(tmp_path, aiohttp_client, FAKE_PAGES)
    devices = owner.hub.devices
    bell = await devices.async_get_or_create(
        DeviceInfo(
            identifiers=(("doorbell", "b1"),), name="Front door", manufacturer="Doorbells Ltd"
        )
    )
    lamp = await devices.async_get_or_create(
        DeviceInfo(identifiers=(("other", "l1"),), name="Lamp", manufacturer="Lamps Ltd")
    )

    page = await owner.client.get("/doorbell")
    assert page.status == 200
    text = await page.text()
    assert 'id="doorbell-page">Rings: 3<' in text
    assert "<nav" in text  # its template extends the web UI's own base page

    bell_page = await (await owner.client.get(f"/devices/{bell.id}")).text()
    assert "<h2>Doorbell of Front door</h2>" in bell_page
    assert 'id="doorbell-can">controls<' in bell_page  # rendered with the page's context
    lamp_page = await (await owner.client.get(f"/devices/{lamp.id}")).text()
    assert "doorbell-panel" not in lamp_page
    assert "<h2>Entities</h2>" in lamp_page
    listing = await (await owner.client.get("/devices")).text()
    assert '<p id="doorbell-banner">Someone rang</p>' in listing


async def test_set_up_asks_the_registered_store_link(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    config = make_config(tmp_path / "linked", integration_sources=(FAKE_PAGES,))
    linked = await aiohttp_client(create_app(config))
    answer = await linked.get("/setup/link", allow_redirects=False)
    # The doorbell says the hub is linked: a stranger is no longer offered the link step.
    assert answer.status == 302
    assert answer.headers["Location"] == "/auth/login?next=/setup"

    config = make_config(tmp_path / "bare", integration_sources=())
    bare = await aiohttp_client(create_app(config))
    answer = await bare.get("/setup/link", allow_redirects=False)
    # Nothing registered: never linked, so a fresh hub's stranger goes on to link it.
    assert answer.status == 303
    assert answer.headers["Location"] == "/auth/link"


async def test_without_integration_pages_the_device_pages_have_no_panels(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    owner = await _owner(tmp_path, aiohttp_client)
    device = await owner.hub.devices.async_get_or_create(
        DeviceInfo(
            identifiers=(("doorbell", "b1"),), name="Front door", manufacturer="Doorbells Ltd"
        )
    )
    page = await owner.client.get(f"/devices/{device.id}")
    assert page.status == 200
    text = await page.text()
    assert "<h1>Front door</h1>" in text
    assert "doorbell-panel" not in text and 'id="adoption"' not in text
    assert (await owner.client.get("/doorbell")).status == 404
    assert (await owner.client.get("/devices")).status == 200


async def test_the_real_integrations_pages_find_their_moved_templates(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    owner = await _owner(tmp_path, aiohttp_client, REAL_SOURCE, integrations=("automation",))
    for path in ("/broker", "/automations"):
        answer = await owner.client.get(path)
        assert answer.status == 200, path
        assert "<nav" in await answer.text(), path
    # The store link's page, from ethos_cloud's templates: here that linking is off.
    answer = await owner.client.get("/auth/link")
    assert answer.status == 404
    assert "linking is not enabled" in await answer.text()
