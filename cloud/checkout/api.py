"""The checkout JSON API: the cart in the cookie, and the caller's orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.api.openapi import ApiRoutes
from cloud.authz import authorize
from cloud.catalog.keys import CATALOG
from cloud.checkout import service
from cloud.checkout.access import readable_order
from cloud.checkout.cancel import can_cancel, cancel_order
from cloud.checkout.keys import CHECKOUT
from cloud.checkout.models import Order, OrderLine, Refund, RefundStatus
from cloud.checkout.routes import read_cart
from cloud.checkout.states import STATUS_TEXT, OrderStatus, notes_for
from cloud.checkout.timeline import order_timeline
from cloud.domain import RefusedError
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


class TimelineStepOut(BaseModel):
    step: str  # created, paid, packed, shipped, delivered, refund_started, refunded, cancelled…
    label: str
    at: datetime
    detail: str | None
    carrier: str | None
    tracking_number: str | None


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
    timeline: list[TimelineStepOut]
    cancellable: bool  # POST …/cancel would cancel it now

    @classmethod
    def of(
        cls,
        order: Order,
        lines: list[OrderLine],
        serials: list[str],
        refunds: list[Refund] | None = None,
    ) -> OrderOut:
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
            timeline=[
                TimelineStepOut(
                    step=step.key,
                    label=step.label,
                    at=step.at,
                    detail=step.detail,
                    carrier=step.carrier,
                    tracking_number=step.tracking_number,
                )
                for step in order_timeline(order, refunds or [])
            ],
            cancellable=can_cancel(order) is None,
        )


async def _orders_out(request: web.Request, orders: list[Order]) -> list[dict[str, Any]]:
    async with request.app[DB]() as session:
        serials = await units_of_orders(session, [o.id for o in orders])
        return [
            OrderOut.of(
                o,
                await service.order_lines(session, o.id),
                serials.get(o.id, []),
                await _visible_refunds(session, o.id),
            ).model_dump(mode="json")
            for o in orders
        ]


async def _visible_refunds(session: AsyncSession, order_id: str) -> list[Refund]:
    rows = await session.scalars(
        select(Refund)
        .where(col(Refund.order_id) == order_id, col(Refund.status) != RefundStatus.REQUESTING)
        .order_by(col(Refund.id))
    )
    return list(rows)


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


@ROUTES.route(
    "POST",
    "/api/v1/orders/{order_id}/cancel",
    summary="Cancel an unpaid order (its invoice is voided, its units go back on sale)",
    tag="checkout",
    response=OrderOut,
    auth=True,
    action="orders.cancel",
    errors=(403, 404, 409, 503),
)
async def post_cancel_order(request: web.Request) -> web.Response:
    order = await readable_order(request, "orders.cancel")
    try:
        cancelled = await cancel_order(request.app[CHECKOUT], order.id)
    except RefusedError as err:
        return web.json_response(
            {"error": err.refusal.message, "code": err.refusal.code}, status=err.refusal.status
        )
    return web.json_response((await _orders_out(request, [cancelled]))[0])
