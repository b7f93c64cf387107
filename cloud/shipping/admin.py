"""Console pages for shipping: the paid orders still to pack, ship or deliver, each with
its address and the next step's form; every step is checked (CanExecute), claimed against
a second operator (the order's version), recorded in the audit log, or refused clearly."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import or_, select
from sqlmodel import col

from cloud.admin.access import refusal_error, render_admin, require_operator
from cloud.admin.audit import record
from cloud.admin.locking import claim_order, version_from_form
from cloud.admin.nav import add_nav_entry
from cloud.checkout.models import Order, OrderLine
from cloud.domain import InputErrors, Refusal, RefusedError
from cloud.shipping import service
from cloud.shipping.address import Address
from cloud.shipping.service import Fulfilment, ShippingAction
from cloud.web.forms import read_form, transaction
from cloud.web.keys import DB, SETTINGS

_LOGGER = logging.getLogger(__name__)

SHIPPING_PATH = "/admin/shipping"
Handler = Callable[[web.Request], Awaitable[web.Response]]
QUEUE_LIMIT = 200  # oldest first: what is waiting longest is done first


@dataclass(frozen=True)
class QueuedOrder:
    order: Order
    lines: list[OrderLine]
    address: Address | None
    next_action: ShippingAction | None


def _next_action(order: Order) -> ShippingAction | None:
    for action in ShippingAction:
        if service.can_execute(order, action) is None:
            return action
    return None


async def _queue(request: web.Request) -> list[QueuedOrder]:
    key = request.app[SETTINGS].secret_key
    async with request.app[DB]() as session:
        orders = list(
            await session.scalars(
                select(Order)
                .where(
                    col(Order.status).in_(service.SHIPPABLE),
                    or_(
                        col(Order.fulfilment).is_(None),
                        col(Order.fulfilment) != Fulfilment.DELIVERED,
                    ),
                )
                .order_by(col(Order.created_at))
                .limit(QUEUE_LIMIT)
            )
        )
        lines: dict[str, list[OrderLine]] = {order.id: [] for order in orders}
        if orders:
            for line in await session.scalars(
                select(OrderLine).where(col(OrderLine.order_id).in_(list(lines)))
            ):
                lines[line.order_id].append(line)
        queued = []
        for order in orders:
            stored = await service.address_of(session, key, order.id)
            queued.append(QueuedOrder(order, lines[order.id], stored.address, _next_action(order)))
    return queued


async def _render_queue(request: web.Request, status: int = 200, **extra: object) -> web.Response:
    return render_admin(
        request,
        "shipping/admin_queue.html",
        {"queue": await _queue(request), "actions": ShippingAction, **extra},
        status=status,
    )


async def queue_page(request: web.Request) -> web.Response:
    await require_operator(request, "admin.orders.read")
    return await _render_queue(request)


def _step_handler(action: ShippingAction) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return await order_action(request, action)

    return handler


async def order_action(request: web.Request, action: ShippingAction) -> web.Response:
    principal = await require_operator(request, "admin.orders.write")
    order_id = request.match_info["order_id"][:32]
    form = await read_form(request)
    settings = request.app[SETTINGS]
    try:
        version = version_from_form(form.get("version"))
        tracking = (
            service.parse_tracking(form.get("carrier"), form.get("tracking_number"))
            if action == ShippingAction.SHIP
            else None
        )
        async with transaction(request.app) as session:
            await claim_order(session, order_id, version)
            order = await service.execute(
                session,
                order_id,
                action,
                tracking=tracking,
                order_link=f"{settings.base_url}/orders/{order_id}",
                erase_days=settings.address_erase_days,
            )
            details: dict[str, object] = {"fulfilment": order.fulfilment}
            if tracking is not None:
                details.update(carrier=tracking.carrier, tracking_number=tracking.number)
            await record(
                session, principal, f"order.{order.fulfilment}", f"order:{order_id}", details
            )
    except InputErrors as err:
        return await _render_queue(request, 422, errors=err.fields, error_order=order_id)
    except RefusedError as err:
        return await _refused(request, err.refusal, order_id)
    raise web.HTTPSeeOther(f"{SHIPPING_PATH}#order-{order_id}")


async def _refused(request: web.Request, refusal: Refusal, order_id: str) -> web.Response:
    if refusal.status == 404:
        raise refusal_error(refusal)
    return await _render_queue(
        request, refusal.status, refusal=refusal.message, error_order=order_id
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(SHIPPING_PATH, queue_page)
    for action in ShippingAction:
        app.router.add_post(f"/admin/orders/{{order_id}}/{action}", _step_handler(action))
    add_nav_entry(app, "Shipping", SHIPPING_PATH)
