"""A store with a fast-reacting recommender, and shoppers who buy through checkout and the
BTCPay simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.test_utils import TestClient

from cloud.authz import BEARER_RESOLVER, Principal
from cloud.recommender.live_model import RecommenderOptions
from cloud.recommender.web import OPTIONS, RECOMMENDER
from tests.cloud.checkout.shop import ORDER_LOCATION, Shop
from tests.cloud.common import sign_up_and_confirm

FAST = RecommenderOptions(debounce_seconds=0.0, poll_seconds=0.05, stock_ttl_seconds=0.0)

# Stand-in for the OIDC provider's token lookup: fixed tokens with fixed scopes.
TOKEN_SCOPES = {"tok-profile": {"openid", "profile"}, "tok-devices": {"openid", "devices"}}


@dataclass
class Shopper:
    client: TestClient
    email: str
    user_id: int | None = None


def prepared(
    options: RecommenderOptions = FAST, token_owner: dict[str, int] | None = None
) -> Callable[[web.Application], None]:
    def prepare(app: web.Application) -> None:
        app[OPTIONS] = options
        if token_owner is not None:

            async def resolve(request: web.Request, token: str) -> Principal | None:
                if token not in TOKEN_SCOPES or "id" not in token_owner:
                    return None
                return Principal(token_owner["id"], "t@example.com", frozenset(TOKEN_SCOPES[token]))

            app[BEARER_RESOLVER] = resolve

    return prepare


async def new_shopper(aiohttp_client, shop: Shop, email: str) -> Shopper:
    client = await aiohttp_client(shop.client.server)
    await sign_up_and_confirm(client, shop.smtp, email)
    return Shopper(client, email)


async def buy(shop: Shop, shopper: Shopper, *skus: str) -> str:
    """One order with one unit of each SKU, paid and confirmed on the simulator."""
    for sku in skus:
        response = await shop.add_to_cart(sku, 1, shopper.client)
        assert response.status == 303
    response = await shop.submit_checkout(None, shopper.client)
    assert response.status == 303, await response.text()
    match = ORDER_LOCATION.match(response.headers["Location"])
    assert match, response.headers["Location"]
    order_id = match.group(1)
    await shop.pay(order_id, "pay", "confirm")
    order = await shop.wait_status(order_id, "paid")
    shopper.user_id = order.user_id
    return order_id


async def wait_trained_on(app: web.Application, lines: int, timeout: float = 20) -> None:
    """Until this app's model covers `lines` settled purchase lines."""
    recommender = app[RECOMMENDER]
    deadline = asyncio.get_running_loop().time() + timeout
    while recommender.trained_on is None or recommender.trained_on.lines < lines:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"model covers {recommender.trained_on}, not {lines} lines")
        await asyncio.sleep(0.02)
