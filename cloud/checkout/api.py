"""The checkout JSON API: the cart in the cookie, and the caller's orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from cloud.api.openapi import ApiRoutes
from cloud.authz import authorize
from cloud.catalog.keys import CATALOG
from cloud.checkout import service
from cloud.checkout.access import readable_order
from cloud.checkout.models import Order, OrderLine
from cloud.checkout.routes import read_cart
from cloud.checkout.states import STATUS_TEXT, OrderStatus, notes_for
from cloud.inventory.service import units_of_orders
from cloud.web.keys import DB


class CartLineOut(BaseModel):
    sku: str
    name: str
    unit_price: Decimal
    quantity: int
    subtotal: Decimal


class CartOut(BaseModel):
    lines: list[CartLineOut]
    total: Decimal
    currency: str | None


class OrderLineOut(BaseModel):
    sku: str
    name: str
    unit_price: Decimal
    quantity: int


class OrderOut(BaseModel):
    id: str
    status: str
    status_label: str
    explanation: str
    notes: list[str]
    total: Decimal
    currency: str
    created_at: datetime
    updated_at: datetime
    lines: list[OrderLineOut]
    devices: list[str]
    pay_url: str | None
    payment_problem: str | None

    @classmethod
    def of(cls, order: Order, lines: list[OrderLine], serials: list[str]) -> OrderOut:
        text = STATUS_TEXT[OrderStatus(order.status)]
        payable = order.status in (OrderStatus.AWAITING_PAYMENT, OrderStatus.PART_PAID)
        return cls(
            id=order.id,
            status=order.status,
            status_label=text.label,
            explanation=text.explanation,
            notes=notes_for(order.invoice_additional_status),
            total=order.total,
            currency=order.currency,
            created_at=order.created_at,
            updated_at=order.updated_at,
            lines=[
                OrderLineOut(
                    sku=line.sku, name=line.name, unit_price=line.unit_price, quantity=line.quantity
                )
                for line in lines
            ],
            devices=serials,
            pay_url=f"/orders/{order.id}/pay" if payable and order.checkout_link else None,
            payment_problem=order.payment_problem,
        )


async def _orders_out(request: web.Request, orders: list[Order]) -> list[dict[str, Any]]:
    async with request.app[DB]() as session:
        serials = await units_of_orders(session, [o.id for o in orders])
        return [
            OrderOut.of(
                o, await service.order_lines(session, o.id), serials.get(o.id, [])
            ).model_dump(mode="json")
            for o in orders
        ]


ROUTES = ApiRoutes()


@ROUTES.route(
    "GET", "/api/v1/cart", summary="The cart of this browser", tag="checkout", response=CartOut
)
async def get_cart(request: web.Request) -> web.Response:
    lines = service.price_cart(request.app[CATALOG], read_cart(request))
    out = CartOut(
        lines=[
            CartLineOut(
                sku=line.sku,
                name=line.name,
                unit_price=line.unit_price,
                quantity=line.quantity,
                subtotal=line.subtotal,
            )
            for line in lines
        ],
        total=sum((line.subtotal for line in lines), Decimal(0)),
        currency=lines[0].currency if lines else None,
    )
    return web.json_response(out.model_dump(mode="json"))


@ROUTES.route(
    "GET",
    "/api/v1/orders",
    summary="My orders, newest first",
    tag="checkout",
    response=[OrderOut],
    auth=True,
    action="orders.read",
    errors=(403,),
)
async def list_orders(request: web.Request) -> web.Response:
    principal = await authorize(request, "orders.read")
    async with request.app[DB]() as session:
        orders = await service.orders_of(session, principal.user_id)
    return web.json_response(await _orders_out(request, orders))


@ROUTES.route(
    "GET",
    "/api/v1/orders/{order_id}",
    summary="One order (owner or guest link)",
    tag="checkout",
    response=OrderOut,
    auth=True,
    action="orders.read",
    errors=(403, 404),
)
async def get_order(request: web.Request) -> web.Response:
    order = await readable_order(request)
    return web.json_response((await _orders_out(request, [order]))[0])
