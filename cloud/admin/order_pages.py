"""The console's order pages: the list (filters, search, pages), one order, the CSV export."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from urllib.parse import urlencode

from aiohttp import web

from cloud.admin.access import render_admin, require_operator
from cloud.admin.audit import record
from cloud.admin.orders import (
    Cursor,
    OrderFilter,
    find_orders,
    iterate_orders,
    order_detail,
    parse_filter,
)
from cloud.catalog.keys import CATALOG
from cloud.checkout.models import Order, OrderLine
from cloud.checkout.states import OrderStatus
from cloud.db import utcnow
from cloud.domain import InputErrors
from cloud.web.forms import transaction
from cloud.web.keys import DB

_LOGGER = logging.getLogger(__name__)

CSV_HEADER = (
    "order_id",
    "placed_at",
    "status",
    "email",
    "total",
    "currency",
    "invoice_id",
    "invoice_status",
    "lines",
)
# A cell a spreadsheet would run as a formula is written as text (OWASP: CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _skus(request: web.Request) -> set[str]:
    return set(request.app[CATALOG].skus)


def _filter_or_errors(request: web.Request) -> tuple[OrderFilter, dict[str, str]]:
    try:
        return parse_filter(request.query, _skus(request)), {}
    except InputErrors as err:
        return OrderFilter(), err.fields


def _list_context(request: web.Request, where: OrderFilter, errors: dict[str, str]) -> dict:
    products = sorted(request.app[CATALOG].products, key=lambda p: p.name)
    return {
        "where": where,
        "errors": errors,
        "statuses": [status.value for status in OrderStatus],
        "products": [(p.sku, p.name) for p in products],
        "export_query": urlencode(where.query_params()),
    }


async def orders_page(request: web.Request) -> web.Response:
    await require_operator(request, "admin.orders.read")
    where, errors = _filter_or_errors(request)
    after_text = request.query.get("after", "")
    if errors:
        context = _list_context(request, where, errors)
        return render_admin(
            request, "admin/orders.html", {**context, "page": None, "next_url": None}, status=422
        )
    try:
        after = Cursor.decode(after_text) if after_text else None
    except InputErrors as err:
        context = _list_context(request, where, err.fields)
        return render_admin(
            request, "admin/orders.html", {**context, "page": None, "next_url": None}, status=422
        )
    async with request.app[DB]() as session:
        page = await find_orders(session, where, after)
    next_url = None
    if page.next_cursor:
        next_url = "/admin/orders?" + urlencode({**where.query_params(), "after": page.next_cursor})
    context = _list_context(request, where, {})
    return render_admin(
        request, "admin/orders.html", {**context, "page": page, "next_url": next_url}
    )


async def order_page(request: web.Request) -> web.Response:
    await require_operator(request, "admin.orders.read")
    order_id = request.match_info["order_id"]
    async with request.app[DB]() as session:
        detail = await order_detail(session, order_id)
    if detail is None:
        raise web.HTTPNotFound(text="There is no such order.")
    return render_admin(request, "admin/order.html", {"detail": detail})


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def csv_row(order: Order, lines: Iterable[OrderLine]) -> list[str]:
    summary = "; ".join(f"{line.sku} x{line.quantity} @ {line.unit_price}" for line in lines)
    return [
        _cell(value)
        for value in (
            order.id,
            order.created_at.isoformat(),
            order.status,
            order.email,
            order.total,
            order.currency,
            order.invoice_id,
            order.invoice_status,
            summary,
        )
    ]


async def orders_csv(request: web.Request) -> web.StreamResponse:
    """The filtered list as CSV, streamed in batches (the export itself is audited)."""
    principal = await require_operator(request, "admin.orders.read")
    where = parse_filter(request.query, _skus(request))  # InputErrors → 422
    async with transaction(request.app) as session:
        await record(session, principal, "orders.exported", "orders", where.query_params())
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": (
                f'attachment; filename="orders-{utcnow().strftime("%Y%m%dT%H%M%SZ")}.csv"'
            ),
        }
    )
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    count = 0
    async with request.app[DB]() as session:
        async for order, lines in iterate_orders(session, where):
            writer.writerow(csv_row(order, lines))
            count += 1
            if buffer.tell() > 64 * 1024:
                await response.write(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
    await response.write(buffer.getvalue().encode())
    await response.write_eof()
    _LOGGER.info("operator %s exported %d orders", principal.user_id, count)
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/orders", orders_page)
    app.router.add_get("/admin/orders.csv", orders_csv)
    app.router.add_get("/admin/orders/{order_id}", order_page)
