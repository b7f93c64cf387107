"""Who may see an order: its owner (through the Authorizer), or anyone holding a guest link.

A guest order (no account yet) is reached by its random 128-bit id, like a receipt link.
Once the email confirms an account, the order is the account's and needs its sign-in.
"""

from __future__ import annotations

from aiohttp import web

from cloud.authz import authorize, resolve_principal
from cloud.checkout.flow import load_order
from cloud.checkout.keys import CHECKOUT
from cloud.checkout.models import Order


async def readable_order(request: web.Request, action: str = "orders.read") -> Order:
    order = await load_order(request.app[CHECKOUT], request.match_info["order_id"][:32])
    if order is None or order.erased_at is not None:
        raise web.HTTPNotFound(text="There is no such order.")
    if order.user_id is None:
        return order
    if (
        await resolve_principal(request) is None
        and request.method == "GET"
        and not request.path.startswith("/api/")
    ):
        raise web.HTTPSeeOther(f"/account/login?next={request.path_qs}")
    await authorize(request, action, owner_id=order.user_id)
    return order
