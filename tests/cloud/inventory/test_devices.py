"""`/api/v1/me/devices`: owned units with claim secrets, only to the owner, only with the
`devices` scope when a bearer token is used (the OIDC area plugs tokens in later)."""

from __future__ import annotations

from aiohttp import web

from cloud.authz import BEARER_RESOLVER, Principal
from tests.cloud.checkout.shop import open_shop
from tests.cloud.common import sign_up_and_confirm

OWNER = "owner@example.com"


SCOPES = {"tok-devices": {"openid", "devices"}, "tok-profile": {"openid", "profile"}}


def token_resolver(owner: dict[str, int]):
    """Stand-in for the OIDC provider's resolver: fixed tokens with fixed scopes."""

    def prepare(app: web.Application) -> None:
        async def resolve(request: web.Request, token: str) -> Principal | None:
            if token not in SCOPES or "id" not in owner:
                return None
            return Principal(owner["id"], OWNER, frozenset(SCOPES[token]), "hub")

        app[BEARER_RESOLVER] = resolve

    return prepare


async def test_devices_api_needs_the_devices_scope(
    aiohttp_client, cloud_settings, sim, smtp_server
):
    owner: dict[str, int] = {}
    shop = await open_shop(
        aiohttp_client,
        cloud_settings,
        sim,
        smtp_server,
        with_webhook=True,
        prepare=token_resolver(owner),
    )
    stock = await shop.add_stock("EPD-1", 2)
    await sign_up_and_confirm(shop.client, shop.smtp, OWNER)
    order_id = await shop.place_order("EPD-1", 2, email=None)
    await shop.pay(order_id, "pay", "confirm")
    owner["id"] = (await shop.wait_status(order_id, "paid")).user_id

    hub = await aiohttp_client(shop.client.server)
    response = await hub.get("/api/v1/me/devices", headers={"Authorization": "Bearer tok-devices"})
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    devices = await response.json()
    assert {d["serial"]: d["claim_secret"] for d in devices} == stock
    assert {d["sku"] for d in devices} == {"EPD-1"}

    response = await hub.get("/api/v1/me/devices", headers={"Authorization": "Bearer tok-profile"})
    assert response.status == 403
    assert "devices" in (await response.json())["error"]
    response = await hub.get("/api/v1/me/devices", headers={"Authorization": "Bearer forged"})
    assert response.status == 401


async def test_devices_page_lists_units_for_the_owner_only(shop, aiohttp_client):
    stock = await shop.add_stock("EPD-1", 1)
    await sign_up_and_confirm(shop.client, shop.smtp, OWNER)
    order_id = await shop.place_order(email=None)
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    page = await shop.client.get("/devices")
    html = await page.text()
    [(serial, secret)] = stock.items()
    assert serial in html and secret in html and page.headers["Cache-Control"] == "no-store"
    anonymous = await aiohttp_client(shop.client.server)
    response = await anonymous.get("/devices", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/account/login")
