"""Bearer access tokens open only what their scopes name: orders need `orders`, pages take
no tokens at all, every route that reads a token declares its scope, and the OpenAPI
document says which.

A buyer with a paid order (and so a device serial) signs in through the store's own
OpenID Connect provider; tokens holding a single scope each then walk the route table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from aiohttp import web

from tests.cloud.checkout.shop import Shop, shop, sim, simulator_process  # noqa: F401
from tests.cloud.common import PASSWORD, sign_up_and_confirm
from tests.support.oidc_client import OidcClient, OidcError, StoreBrowser

MOBILE_CLIENT = "ethos-mobile"
HUB_SETUP_CLIENT = "ethos-hub-setup"
# Values for the path parameters of the route table; `order_id` is the buyer's order.
PATH_VALUES = {"sku": "EPD-1", "receipt_id": "1", "client_id": "0" * 32}


@dataclass
class Buyer:
    email: str
    order_id: str
    serial: str
    base_url: str
    http: httpx.AsyncClient
    browser: StoreBrowser

    async def token(self, scope: str) -> str:
        """An access token holding exactly `scope` (space-separated), from whichever
        first-party client may ask for it: the mobile app (code + PKCE), else hub setup
        (device flow)."""
        mobile = OidcClient(
            self.base_url, MOBILE_CLIENT, self.http, redirect_uri=f"{self.base_url}/app/callback"
        )
        request = await mobile.authorization_request(scope)
        callback = await self.browser.authorize(request.url, f"{self.base_url}/app/callback")
        try:
            tokens = await mobile.exchange_code(callback, request)
        except OidcError as refused:
            assert refused.error == "invalid_scope", refused
            setup = OidcClient(self.base_url, HUB_SETUP_CLIENT, self.http)
            device = await setup.start_device_flow(scope)
            await self.browser.decide_device(device.user_code, approve=True)
            tokens = await setup.poll_device_token(device, interval=0)
        assert tokens.scope.split() == scope.split()
        return tokens.access_token

    async def get(self, path: str, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.get(self.base_url + path, headers=headers)


@pytest.fixture
async def buyer(shop: Shop, unique_id: str) -> AsyncIterator[Buyer]:  # noqa: F811
    units = await shop.add_stock("EPD-1", 1)
    email = f"buyer-{unique_id}@example.org"
    await sign_up_and_confirm(shop.client, shop.smtp, email)
    order_id = await shop.place_order(email=None)
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    base_url = shop.settings.base_url
    browser = StoreBrowser(base_url)
    await browser.sign_in(email, PASSWORD)
    async with httpx.AsyncClient(timeout=30) as http:  # no cookies: tokens only
        try:
            yield Buyer(email, order_id, next(iter(units)), base_url, http, browser)
        finally:
            await browser.aclose()


async def test_an_openid_only_token_cannot_read_orders_through_the_api(buyer: Buyer):
    openid_only = await buyer.token("openid")
    for path in ("/api/v1/orders", f"/api/v1/orders/{buyer.order_id}"):
        response = await buyer.get(path, openid_only)
        assert response.status_code == 403, path
        assert buyer.serial not in response.text
        challenge = response.headers["WWW-Authenticate"]
        assert 'error="insufficient_scope"' in challenge and 'scope="orders"' in challenge

    with_orders = await buyer.token("orders")
    orders = (await buyer.get("/api/v1/orders", with_orders)).json()
    assert [order["id"] for order in orders] == [buyer.order_id]
    assert orders[0]["devices"] == [buyer.serial]
    one = await buyer.get(f"/api/v1/orders/{buyer.order_id}", with_orders)
    assert one.status_code == 200 and one.json()["devices"] == [buyer.serial]


async def test_a_bearer_token_does_not_open_store_pages(buyer: Buyer):
    discovery = (await buyer.get("/.well-known/openid-configuration")).json()
    app_scopes = ("openid", "profile", "email", "devices", "orders")  # the mobile app's
    token = await buyer.token(" ".join(s for s in app_scopes if s in discovery["scopes_supported"]))
    pages = (
        f"/orders/{buyer.order_id}",
        f"/orders/{buyer.order_id}/pay",
        "/orders",
        "/devices",
        "/account",
    )
    for path in pages:
        response = await buyer.get(path, token)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/account/login"), path
        assert buyer.serial not in response.text


async def test_the_mobile_app_may_ask_for_orders_and_discovery_lists_the_scope(buyer: Buyer):
    discovery = (await buyer.get("/.well-known/openid-configuration")).json()
    assert "orders" in discovery["scopes_supported"]
    assert await buyer.token("orders")  # the first-party app that shows orders gets it


def _challenged_scopes(response: httpx.Response) -> set[str]:
    """The scopes a 403 names in its RFC 6750 challenge (`scope="a b"`)."""
    challenge = response.headers.get("WWW-Authenticate", "")
    if response.status_code != 403 or 'error="insufficient_scope"' not in challenge:
        return set()
    _, _, rest = challenge.partition('scope="')
    return set(rest.split('"', 1)[0].split())


def _walkable_routes(app: web.Application, order_id: str) -> list[tuple[str, str]]:
    values = {**PATH_VALUES, "order_id": order_id}
    routes = []
    for route in app.router.routes():
        resource = route.resource
        if route.method == "HEAD" or resource is None or isinstance(resource, web.StaticResource):
            continue
        path = resource.canonical
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"give the test a value for {resource.canonical}"
        routes.append((route.method, path))
    return routes


async def test_every_route_that_takes_a_bearer_token_declares_its_scope(
    shop: Shop,  # noqa: F811
    buyer: Buyer,
):
    discovery = (await buyer.get("/.well-known/openid-configuration")).json()
    tokens = {scope: await buyer.token(scope) for scope in discovery["scopes_supported"]}

    async def answer(method: str, path: str, token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = {"json": {}} if method not in ("GET", "DELETE") else {}
        return await buyer.http.request(method, buyer.base_url + path, headers=headers, **body)

    def shape(response: httpx.Response) -> tuple[int, str | None]:
        return response.status_code, response.headers.get("location")

    undeclared: list[str] = []
    pages_reading_tokens: list[str] = []
    reading_tokens: set[str] = set()
    for method, path in _walkable_routes(shop.app, buyer.order_id):
        anonymous = shape(await answer(method, path, None))
        answers = {scope: await answer(method, path, token) for scope, token in tokens.items()}
        reads_tokens = {scope for scope, got in answers.items() if shape(got) != anonymous}
        if not reads_tokens:
            continue
        reading_tokens.add(f"{method} {path}")
        if not path.startswith(("/api/", "/oauth/")):
            pages_reading_tokens.append(f"{method} {path}")
        declared = set().union(*(_challenged_scopes(got) for got in answers.values()))
        let_in = {scope for scope in reads_tokens if answers[scope].status_code not in (401, 403)}
        if not let_in <= declared:
            undeclared.append(f"{method} {path} lets {sorted(let_in)} in, declares {declared}")
    # The walk saw tokens at work (a walk where no token worked would prove nothing).
    assert {"GET /api/v1/orders", "GET /api/v1/me/devices", "GET /oauth/userinfo"} <= (
        reading_tokens
    )
    assert pages_reading_tokens == [], "pages take the session only"
    assert undeclared == []


async def test_the_openapi_document_shows_the_scopes_of_each_operation(buyer: Buyer):
    document = (await buyer.get("/api/v1/openapi.json")).json()
    discovery = (await buyer.get("/.well-known/openid-configuration")).json()
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "oauth2"
    flow = scheme["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == "/oauth/authorize" and flow["tokenUrl"] == "/oauth/token"
    assert set(flow["scopes"]) == set(discovery["scopes_supported"])

    def bearer_scopes(path: str) -> list[str] | None:
        for requirement in document["paths"][path]["get"].get("security", []):
            if "bearer" in requirement:
                return requirement["bearer"]
        return None

    assert bearer_scopes("/api/v1/orders") == ["orders"]
    assert bearer_scopes("/api/v1/orders/{order_id}") == ["orders"]
    assert bearer_scopes("/api/v1/me/devices") == ["devices"]
    assert bearer_scopes("/api/v1/me") == ["profile"]
    assert bearer_scopes("/api/v1/products") is None
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for requirement in operation.get("security", []):
                if "bearer" in requirement:
                    assert requirement["bearer"], f"{method} {path} takes any token"
                    assert "403" in operation["responses"], f"{method} {path}"
