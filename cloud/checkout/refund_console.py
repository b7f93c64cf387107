"""The console's refund action: `/admin/orders/{id}/refund` shows what was paid, refunded
and is still refundable, each refund's progress, and the form an operator refunds with."""

from __future__ import annotations

import logging

from aiohttp import web

from cloud.admin.access import render_admin, require_operator
from cloud.admin.locking import version_from_form
from cloud.checkout import refunds
from cloud.checkout.flow import load_order
from cloud.checkout.keys import CHECKOUT
from cloud.checkout.models import Order
from cloud.checkout.states import REFUNDABLE_STATUSES, STATUS_TEXT, OrderStatus
from cloud.domain import InputErrors, Refusal, RefusedError
from cloud.web.forms import read_form
from cloud.web.keys import DB

_LOGGER = logging.getLogger(__name__)

READ_ACTION = "admin.orders.read"
REFUND_ACTION = "admin.refunds.write"


def refund_path(order_id: str) -> str:
    return f"/admin/orders/{order_id}/refund"


async def _order(request: web.Request) -> Order:
    order = await load_order(request.app[CHECKOUT], request.match_info["order_id"])
    if order is None:
        raise web.HTTPNotFound(text="There is no such order.")
    return order


async def _render(
    request: web.Request,
    order: Order,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    refusal: Refusal | None = None,
    status: int = 200,
) -> web.Response:
    ctx = request.app[CHECKOUT]
    balance: refunds.RefundBalance | None = None
    balance_problem = None
    try:
        balance = await refunds.refund_balance(ctx, order)
    except RefusedError as err:
        balance_problem = err.refusal.message
    async with request.app[DB]() as session:
        order_refunds = await refunds.refunds_of(session, order.id)
    order_status = OrderStatus(order.status) if order.status in STATUS_TEXT else None
    return render_admin(
        request,
        "checkout/admin_refund.html",
        {
            "order": order,
            "status_label": STATUS_TEXT[order_status].label if order_status else order.status,
            "balance": balance,
            "balance_problem": balance_problem,
            "refundable_status": order.status in REFUNDABLE_STATUSES,
            "refunds": [r for r in order_refunds if r.status != "requesting"],
            "refund_text": refunds.REFUND_STATUS_TEXT,
            "variants": refunds.VARIANTS,
            "form": form or {},
            "errors": errors or {},
            "refusal": refusal,
            "refunded": request.query.get("refunded") == "1",
        },
        status=status,
    )


async def refund_page(request: web.Request) -> web.Response:
    await require_operator(request, READ_ACTION)
    return await _render(request, await _order(request))


async def refund_submit(request: web.Request) -> web.Response:
    principal = await require_operator(request, REFUND_ACTION)
    order = await _order(request)
    form = await read_form(request)
    try:
        wanted = refunds.parse_refund_form(form)
        version = version_from_form(form.get("version"))
        await refunds.refund_order(request.app[CHECKOUT], order.id, wanted, principal, version)
    except InputErrors as err:
        return await _render(request, order, form=form, errors=err.fields, status=422)
    except RefusedError as err:
        _LOGGER.info("refund of order %s refused: %s", order.id, err.refusal.code)
        fresh = await load_order(request.app[CHECKOUT], order.id) or order
        return await _render(
            request, fresh, form=form, refusal=err.refusal, status=err.refusal.status
        )
    raise web.HTTPSeeOther(f"{refund_path(order.id)}?refunded=1")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/orders/{order_id}/refund", refund_page)
    app.router.add_post("/admin/orders/{order_id}/refund", refund_submit)
