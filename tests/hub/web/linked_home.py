"""A real store (in-process, on a real port) and a hub linked to it through the hub's pages,
with as many browsers and store accounts as a test needs: the owner, invited people and
strangers. Used by the household tests (who gets in) and the link tests (who owns)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cloud.app import create_app as create_cloud_app
from cloud.config import CloudSettings
from firmware.simulator.firmware_path import ensure_firmware_importable
from hub.integrations.ethos_cloud.web import LINK_TOKEN_COOKIE, async_link_flow
from hub.web.app import create_app
from hub.web.keys import CONFIG_KEY, OIDC_KEY
from tests.cloud.common import PASSWORD, sign_up_and_confirm
from tests.conftest import DatabaseTarget
from tests.hub.common import make_config
from tests.support.oidc_client import StoreBrowser
from tests.support.processes import free_port
from tests.support.smtp_sink import MailCatcher

ensure_firmware_importable()

from tests.firmware.mqtt_support import clear_retained  # noqa: E402

LINK_TOKEN = re.compile(r'name="link_token" value="([^"]+)"')
USER_CODE = re.compile(r'data-user-code="([A-Z-]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class LinkedHome:
    """The store, the hub, and the people: each person a store browser (and hub browsers)."""

    store_url: str
    store_client: TestClient
    smtp: MailCatcher
    hub_server: TestServer
    people: list[StoreBrowser] = field(default_factory=list)
    browsers: list[TestClient] = field(default_factory=list)

    @property
    def app(self) -> web.Application:
        return self.hub_server.app  # type: ignore[return-value]

    @property
    def redirect_uri(self) -> str:
        return self.app[OIDC_KEY].redirect_uri

    async def person(self, email: str) -> StoreBrowser:
        """A confirmed store account, signed in at the store in its own browser."""
        await sign_up_and_confirm(self.store_client, self.smtp, email)
        self.store_client.session.cookie_jar.clear()
        person = StoreBrowser(self.store_url)
        self.people.append(person)
        await person.sign_in(email, PASSWORD)
        return person

    async def browser(self) -> TestClient:
        """A fresh browser on the hub (its own cookies)."""
        client = TestClient(self.hub_server)
        await client.start_server()
        self.browsers.append(client)
        return client

    async def start_link(self, browser: TestClient) -> aiohttp.ClientResponse:
        """Press "Link" (a browser without the button sends its page token all the same)."""
        form = await (await browser.get("/auth/link")).text()
        found = LINK_TOKEN.search(form)
        cookies = {c.key: c.value for c in browser.session.cookie_jar}
        token = found.group(1) if found else cookies[LINK_TOKEN_COOKIE]
        return await browser.post("/auth/link", data={"link_token": token}, allow_redirects=False)

    async def link(self, browser: TestClient, approver: StoreBrowser) -> str:
        """Link through the pages in ``browser``; ``approver`` approves the code in the store."""
        started = await self.start_link(browser)
        assert started.status == 303, await started.text()
        return await self.approve_link(browser, approver)

    async def approve_link(self, browser: TestClient, approver: StoreBrowser) -> str:
        """The code ``browser`` shows, approved by ``approver``; the link page afterwards."""
        html = await (await browser.get("/auth/link")).text()
        code = USER_CODE.search(html)
        assert code, html
        approved = await approver.decide_device(code.group(1), approve=True)
        assert approved.status_code < 400, approved.text
        flow = await async_link_flow(self.app)
        await flow.async_poll(self.redirect_uri, self.app[CONFIG_KEY].name)
        return await (await browser.get("/auth/link")).text()

    async def sign_in(
        self,
        browser: TestClient,
        person: StoreBrowser,
        next_path: str = "/devices",
        invite: str | None = None,
    ) -> aiohttp.ClientResponse:
        """The hub's sign-in with this store account; the callback's answer."""
        query = f"next={next_path}" + (f"&invite={invite}" if invite else "")
        started = await browser.get(f"/auth/login?{query}", allow_redirects=False)
        assert started.status == 302, await started.text()
        callback = await person.authorize(started.headers["Location"], self.redirect_uri)
        return await browser.get(
            f"/auth/callback?{urlsplit(callback).query}", allow_redirects=False
        )

    @staticmethod
    async def csrf(browser: TestClient) -> str:
        page = await (await browser.get("/devices")).text()
        match = CSRF.search(page)
        assert match, page
        return match.group(1)

    async def aclose(self) -> None:
        for person in self.people:
            await person.aclose()
        for browser in self.browsers:
            await browser.session.close()


@pytest.fixture
async def linked_home_factory(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    database: DatabaseTarget,
    smtp_server: MailCatcher,
    mqtt_broker_url: str,
    unique_id: str,
    tmp_path: Path,
) -> AsyncIterator[Callable[..., Awaitable[LinkedHome]]]:
    """Makes the store and an unlinked hub; ``config`` overrides the hub's settings."""
    homes: list[LinkedHome] = []
    prefix = f"ha_home_{unique_id}"

    async def make(**config: object) -> LinkedHome:
        port = free_port()
        store_url = f"http://127.0.0.1:{port}"
        settings = CloudSettings(
            data_dir=tmp_path / "cloud",
            base_url=store_url,
            database_url=database.url,
            database_schema=database.schema,
            smtp_url=smtp_server.url,
        )
        store = await aiohttp_server(create_cloud_app(settings), port=port)
        hub_port = free_port()
        fields = {
            "integrations": ("mqtt", "ethos_cloud"),
            "mqtt_url": mqtt_broker_url,
            "discovery_prefix": prefix,
            "cloud_url": store_url,
            "redirect_uri": f"http://127.0.0.1:{hub_port}/auth/callback",
            **config,
        }
        hub_app = create_app(make_config(tmp_path / "hub", **fields))
        hub_server = await aiohttp_server(hub_app, port=hub_port)
        home = LinkedHome(store_url, await aiohttp_client(store), smtp_server, hub_server)
        homes.append(home)
        return home

    yield make
    for home in homes:
        await home.aclose()
    await clear_retained(mqtt_broker_url, "none", prefix, f"{prefix}/status")
