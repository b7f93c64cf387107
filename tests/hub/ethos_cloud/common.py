"""A store (real cloud app + BTCPay simulator, in-process) and a real hub linked to it.

The steps are the ones a person takes: link the hub (code shown by the hub, approved in the
store), sign in to the hub with the store account, buy a device, switch it on. Shared by
the ethos_cloud and ethos_presence tests.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.test_utils import TestClient

from cloud.catalog.keys import CATALOG
from cloud.inventory.importer import import_stock
from cloud.web.keys import DB
from hub.core.hub import Hub
from hub.core.models import DeviceRow
from hub.integrations.ethos_cloud import CloudRuntime, cloud_runtime
from hub.integrations.ethos_cloud.const import EXTRA_KEY
from hub.integrations.ethos_cloud.web import async_link_flow
from hub.web.app import create_app
from hub.web.keys import CONFIG_KEY, HUB_KEY, OIDC_KEY
from tests.cloud.checkout.shop import Shop
from tests.cloud.common import PASSWORD, sign_up_and_confirm
from tests.hub.common import make_config
from tests.support.oidc_client import StoreBrowser
from tests.support.processes import free_port
from tests.support.waiting import wait_until

LINK_TOKEN = re.compile(r'name="link_token" value="([^"]+)"')
USER_CODE = re.compile(r'data-user-code="([A-Z-]+)"')
INTEGRATIONS = ("mqtt", "ethos_cloud", "ethos_presence")
FAST_POLL_S = 0.2


def unique_serial() -> str:
    """Matches the store's serial format, unique per test (shared brokers stay apart)."""
    return f"E{secrets.token_hex(3).upper()}-{secrets.randbelow(10**6):06d}"


@dataclass
class Home:
    """The owner: their store account and browser, the store, and their hub."""

    shop: Shop
    person: StoreBrowser
    email: str
    hub_client: TestClient
    prefix: str
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def app(self) -> web.Application:
        return self.hub_client.server.app  # type: ignore[return-value]

    @property
    def hub(self) -> Hub:
        return self.app[HUB_KEY]

    @property
    def runtime(self) -> CloudRuntime:
        runtime = cloud_runtime(self.hub)
        assert runtime is not None, "the hub is not linked"
        return runtime

    async def link(self) -> str:
        """Link through the hub's pages: start, read the code, approve in the store."""
        form = await (await self.hub_client.get("/auth/link")).text()
        token = LINK_TOKEN.search(form)
        assert token, form
        page = await self.hub_client.post(
            "/auth/link", data={"link_token": token.group(1)}, allow_redirects=False
        )
        assert page.status == 303, await page.text()
        html = await (await self.hub_client.get("/auth/link")).text()
        match = USER_CODE.search(html)
        assert match, html
        approved = await self.person.decide_device(match.group(1), approve=True)
        assert approved.status_code < 400, approved.text
        # The page polls when the store's interval allows; the test does not wait for it.
        flow = await async_link_flow(self.app)
        await flow.async_poll(self.app[OIDC_KEY].redirect_uri, self.app[CONFIG_KEY].name)
        return await (await self.hub_client.get("/auth/link")).text()

    def poll_fast(self) -> None:
        """The default interval is 30 s; tests poll every 0.2 s through the same loop."""
        self.runtime.sync.interval = FAST_POLL_S
        self.runtime.sync.request_sync()

    async def sign_in_to_hub(
        self, next_path: str = "/devices", person: StoreBrowser | None = None
    ) -> None:
        """Sign in to the hub with a store account: the owner's, or `person`'s."""
        redirect_uri = self.app[OIDC_KEY].redirect_uri
        started = await self.hub_client.get(f"/auth/login?next={next_path}", allow_redirects=False)
        assert started.status == 302, await started.text()
        callback = await (person or self.person).authorize(
            started.headers["Location"], redirect_uri
        )
        done = await self.hub_client.get(
            f"/auth/callback?{urlsplit(callback).query}", allow_redirects=False
        )
        assert done.status == 303, await done.text()

    async def buy(self, serial: str) -> str:
        """Stock one unit with this serial, buy it as the owner, pay; returns its secret."""
        secret = secrets.token_hex(32)
        skus = set(self.shop.app[CATALOG].skus)
        async with self.shop.app[DB]() as session, session.begin():
            await import_stock(
                session,
                self.shop.settings.secret_key,
                f"serial,sku,claim_secret\n{serial},EPD-1,{secret}\n",
                skus,
            )
        order_id = await self.shop.place_order("EPD-1", 1, email=None)
        await self.shop.pay(order_id, "pay", "confirm")
        await self.shop.wait_status(order_id, "paid")
        self.timings["settled"] = time.monotonic()
        return secret

    def device_for(self, serial: str) -> DeviceRow | None:
        for device in self.hub.devices.async_all():
            if any(pair[-1] == f"ethos:{serial}" for pair in device.identifiers):
                return device
        return None

    def adoption(self, serial: str) -> dict:
        device = self.device_for(serial)
        return (device.extra.get(EXTRA_KEY) or {}) if device else {}

    async def wait_adoption(self, serial: str, timeout: float = 15.0) -> dict:
        await wait_until(lambda: bool(self.adoption(serial)), timeout)
        return self.adoption(serial)


async def open_home(
    shop: Shop,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    data_dir: Path,
    mqtt_url: str,
    prefix: str,
    email: str,
) -> Home:
    """A store account (signed in at the store) and a fresh, unlinked hub on a real port."""
    await sign_up_and_confirm(shop.client, shop.smtp, email)
    person = StoreBrowser(str(shop.client.make_url("")).rstrip("/"))
    await person.sign_in(email, PASSWORD)
    port = free_port()
    config = make_config(
        data_dir,
        integrations=INTEGRATIONS,
        mqtt_url=mqtt_url,
        discovery_prefix=prefix,
        cloud_url=shop.settings.base_url,
        redirect_uri=f"http://127.0.0.1:{port}/auth/callback",
    )
    client = await aiohttp_client(create_app(config), server_kwargs={"port": port})
    return Home(shop, person, email, client, prefix)
