"""A store wired to the BTCPay simulator, and the steps a buyer takes, through HTTP."""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from cloud.app import create_app
from cloud.catalog.keys import CATALOG
from cloud.checkout import reconciler
from cloud.checkout.keys import CHECKOUT
from cloud.checkout.models import Order
from cloud.config import CloudSettings
from cloud.inventory.importer import import_stock
from cloud.payments.settings import BtcpaySettings
from cloud.web.keys import DB
from tests.cloud.common import SHIPPING_ADDRESS, csrf_from
from tests.cloud.payments.sim_support import Sim, running_simulator, start_simulator_process
from tests.support import processes
from tests.support.smtp_sink import MailCatcher

ORDER_LOCATION = re.compile(r"^/orders/([A-Za-z0-9_-]{22})$")
_serials = itertools.count(1)


@dataclass
class Shop:
    client: TestClient
    sim: Sim
    settings: CloudSettings
    smtp: MailCatcher
    webhook: dict[str, Any] | None

    @property
    def app(self):
        return self.client.app

    async def add_stock(self, sku: str = "EPD-1", count: int = 1) -> dict[str, str]:
        """Import `count` new units; returns serial → claim secret (hex)."""
        units = {f"EPD-{next(_serials):06d}": secrets.token_hex(32) for _ in range(count)}
        text = "serial,sku,claim_secret\n" + "".join(
            f"{serial},{sku},{secret}\n" for serial, secret in units.items()
        )
        skus = set(self.app[CATALOG].skus)
        async with self.app[DB]() as session, session.begin():
            await import_stock(session, self.settings.secret_key, text, skus)
        return units

    async def add_to_cart(self, sku: str = "EPD-1", quantity: int = 1, client=None):
        client = client or self.client
        page = await client.get(f"/products/{sku}")
        token = csrf_from(await page.text())
        return await client.post(
            "/cart/add",
            data={"sku": sku, "quantity": str(quantity), "csrf_token": token},
            allow_redirects=False,
        )

    async def submit_checkout(self, email: str | None = None, client=None):
        client = client or self.client
        page = await client.get("/checkout")
        data = {"csrf_token": csrf_from(await page.text()), **SHIPPING_ADDRESS}
        if email is not None:
            data["email"] = email
        return await client.post("/checkout", data=data, allow_redirects=False)

    async def place_order(
        self,
        sku: str = "EPD-1",
        quantity: int = 1,
        email: str | None = "guest@example.com",
        client=None,
    ) -> str:
        response = await self.add_to_cart(sku, quantity, client)
        assert response.status == 303
        response = await self.submit_checkout(email, client)
        assert response.status == 303, await response.text()
        match = ORDER_LOCATION.match(response.headers["Location"])
        assert match, response.headers["Location"]
        return match.group(1)

    async def order(self, order_id: str) -> Order:
        async with self.app[DB]() as session:
            order = await session.get(Order, order_id)
        assert order is not None
        return order

    async def invoice_id(self, order_id: str) -> str:
        order = await self.order(order_id)
        assert order.invoice_id, f"order {order_id} has no invoice ({order.payment_problem})"
        return order.invoice_id

    async def wait_status(self, order_id: str, status: str, timeout: float = 10) -> Order:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            order = await self.order(order_id)
            if order.status == status:
                return order
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"order {order_id} is {order.status}, not {status}")
            await asyncio.sleep(0.02)

    async def wait_delivery(self, event_type: str, timeout: float = 10) -> dict[str, Any]:
        """The simulator's record of the latest delivery of `event_type`, once answered."""
        assert self.webhook is not None
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for delivery in await self.sim.deliveries(self.webhook["id"]):
                _status, body = await self.sim.call(
                    "GET",
                    f"/api/v1/stores/{self.sim.store_id}/webhooks/{self.webhook['id']}"
                    f"/deliveries/{delivery['id']}/request",
                )
                if body["type"] == event_type and delivery["status"] != "Pending":
                    return {**delivery, "body": body}
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no answered {event_type} delivery")
            await asyncio.sleep(0.02)

    async def reconcile(self) -> int:
        return await reconciler.reconcile_once(self.app[CHECKOUT])

    async def pay(self, order_id: str, *actions: str) -> None:
        invoice_id = await self.invoice_id(order_id)
        for action in actions:
            await self.sim.act(invoice_id, action)


async def open_shop(
    aiohttp_client,
    settings: CloudSettings,
    sim: Sim,
    smtp: MailCatcher,
    with_webhook: bool,
    prepare: Callable[[web.Application], None] | None = None,
) -> Shop:
    port = processes.free_port()
    base_url = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(24)
    settings = replace(
        settings,
        base_url=base_url,
        btcpay=BtcpaySettings(
            url=sim.url,
            api_key=sim.api_key,
            store_id=sim.store_id,
            webhook_secret=secret,
            timeout_seconds=1.0,
        ),
        reconcile_interval_seconds=3600,
    )
    webhook = (
        await sim.create_webhook(f"{base_url}/webhooks/btcpay", secret) if with_webhook else None
    )
    app = create_app(settings)
    if prepare is not None:
        prepare(app)
    client = await aiohttp_client(app, server_kwargs={"port": port})
    return Shop(client, sim, settings, smtp, webhook)


@pytest.fixture(scope="session")
def simulator_process(e2e: bool):
    """With --e2e one simulator process serves the whole run (each test has its own store
    database and webhook); by default every test gets a fresh in-process simulator."""
    if not e2e:
        yield None
        return
    url, proc = start_simulator_process()
    try:
        yield url
    finally:
        processes.stop(proc)


@pytest.fixture
async def sim(simulator_process):
    async with running_simulator(simulator_process) as running:
        yield running


@pytest.fixture
async def shop(aiohttp_client, cloud_settings, sim, smtp_server):
    shop = await open_shop(aiohttp_client, cloud_settings, sim, smtp_server, with_webhook=True)
    yield shop
    assert shop.webhook is not None
    await sim.call("DELETE", f"/api/v1/stores/{sim.store_id}/webhooks/{shop.webhook['id']}")


@pytest.fixture
async def shop_without_webhook(aiohttp_client, cloud_settings, sim, smtp_server) -> Shop:
    """The webhook never arrives: only the reconciler can notice payments."""
    return await open_shop(aiohttp_client, cloud_settings, sim, smtp_server, with_webhook=False)
