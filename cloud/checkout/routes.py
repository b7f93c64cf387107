"""Store pages for the cart, checkout, orders and paying with bitcoin."""

from __future__ import annotations

import logging
from decimal import Decimal

import aiohttp_jinja2
from aiohttp import web

from cloud.accounts.service import normalise_email
from cloud.accounts.sessions import current_user, require_user
from cloud.authz import authorize
from cloud.catalog.keys import CATALOG
from cloud.checkout import flow, refunds, service
from cloud.checkout.access import readable_order
from cloud.checkout.cancel import can_cancel, cancel_order
from cloud.checkout.cart import (
    CART_COOKIE,
    Cart,
    decode_cart,
    encode_cart,
    parse_quantity,
    set_quantity,
)
from cloud.checkout.keys import CHECKOUT
from cloud.checkout.models import Order, RefundStatus
from cloud.checkout.states import OPEN_STATUSES, STATUS_TEXT, OrderStatus, notes_for
from cloud.checkout.timeline import order_timeline
from cloud.domain import InputErrors, RefusedError
from cloud.inventory.availability import STOCK_COUNTS
from cloud.inventory.service import units_of_orders
from cloud.shipping import service as shipping
from cloud.shipping.address import Address, country_options, parse_address
from cloud.web.forms import read_form, transaction
from cloud.web.keys import DB, SETTINGS

_LOGGER = logging.getLogger(__name__)

PAYABLE = frozenset({OrderStatus.AWAITING_PAYMENT, OrderStatus.PART_PAID})
LIVE_REFRESH_SECONDS = 5


def read_cart(request: web.Request) -> Cart:
    return decode_cart(request.app[SETTINGS].secret_key, request.cookies.get(CART_COOKIE))


def _store_cart(request: web.Request, response: web.StreamResponse, cart: Cart) -> None:
    if not cart:
        response.del_cookie(CART_COOKIE, path="/")
        return
    response.set_cookie(
        CART_COOKIE,
        encode_cart(request.app[SETTINGS].secret_key, cart),
        max_age=30 * 86400,
        httponly=True,
        samesite="Lax",
        secure=request.app[SETTINGS].secure_cookies,
        path="/",
    )


def _total(lines: list[service.PricedLine]) -> Decimal:
    return sum((line.subtotal for line in lines), Decimal(0))


async def cart_page(request: web.Request) -> web.Response:
    lines = service.price_cart(request.app[CATALOG], read_cart(request))
    refusal = await service.can_place_order(request.app[STOCK_COUNTS].async_available, lines)
    return aiohttp_jinja2.render_template(
        "checkout/cart.html",
        request,
        {"lines": lines, "total": _total(lines), "refusal": refusal},
    )


async def cart_add(request: web.Request) -> web.Response:
    form = await read_form(request)
    sku = form.get("sku", "")
    if request.app[CATALOG].get(sku) is None:
        raise web.HTTPNotFound(text="We do not sell that product.")
    cart = read_cart(request)
    quantity = min(cart.get(sku, 0) + parse_quantity(form.get("quantity")), 10)
    response = web.HTTPSeeOther("/cart")
    _store_cart(request, response, set_quantity(cart, sku, quantity))
    raise response


async def cart_update(request: web.Request) -> web.Response:
    form = await read_form(request)
    cart = read_cart(request)
    sku = form.get("sku", "")
    if sku not in cart:
        raise web.HTTPSeeOther("/cart")
    quantity = parse_quantity(form.get("quantity"), allow_zero=True)
    response = web.HTTPSeeOther("/cart")
    _store_cart(request, response, set_quantity(cart, sku, quantity))
    raise response


async def checkout_page(request: web.Request, status: int = 200, **extra: object) -> web.Response:
    lines = service.price_cart(request.app[CATALOG], read_cart(request))
    refusal = extra.pop("refusal", None)
    form: dict[str, str] = extra.pop("form", {})  # type: ignore[assignment]
    if refusal is None:
        # The product pages' stock counts, without a query per view: the page only warns,
        # placing the order reserves units in its own transaction.
        refusal = await service.can_place_order(request.app[STOCK_COUNTS].async_available, lines)
    return aiohttp_jinja2.render_template(
        "checkout/checkout.html",
        request,
        {
            "lines": lines,
            "total": _total(lines),
            "refusal": refusal,
            "erase_days": request.app[SETTINGS].address_erase_days,
            "form": form,
            "country_options": country_options(form.get("ship_country")),
            **extra,
        },
        status=status,
    )


async def checkout_submit(request: web.Request) -> web.Response:
    """Place the order (stock reserved), open its invoice, then show the order page.

    The answer redirects to our own order page, never straight to BTCPay: the CSP's
    `form-action 'self'` also covers redirects after a form POST in Chrome. Paying is a
    plain link from there.
    """
    form = await read_form(request)
    user = await current_user(request)
    lines = service.price_cart(request.app[CATALOG], read_cart(request))
    if not lines:  # a stale tab: say so before asking about the form's fields
        return await checkout_page(request, service.EMPTY_CART.status, refusal=service.EMPTY_CART)
    try:
        email, address = _buyer_details(form, user.email if user else None)
        async with transaction(request.app) as session:
            order = await service.place_order(
                session,
                lines,
                user.id if user else None,
                email,
                flow.invoice_claim_lease(request.app[SETTINGS]),
            )
            await shipping.store_address(
                session, request.app[SETTINGS].secret_key, order.id, address
            )
    except InputErrors as err:
        return await checkout_page(
            request, 422, errors=err.fields, email=form.get("email", ""), form=form
        )
    except RefusedError as err:
        return await checkout_page(request, err.refusal.status, refusal=err.refusal)
    await flow.request_invoice(request.app[CHECKOUT], order, first=True)
    response = web.HTTPSeeOther(f"/orders/{order.id}")
    _store_cart(request, response, {})
    raise response


def _buyer_details(form: dict[str, str], account_email: str | None) -> tuple[str, Address]:
    """The email (the account's, or a guest's) and the shipping address, every fault named."""
    errors: dict[str, str] = {}
    email = account_email or ""
    if account_email is None:
        try:
            email = normalise_email(form.get("email", ""))
        except InputErrors as err:
            errors.update(err.fields)
    try:
        address = parse_address(form)
    except InputErrors as err:
        errors.update(err.fields)
    if errors:
        raise InputErrors(errors)
    return email, address


async def order_view(request: web.Request, order: Order) -> dict[str, object]:
    async with request.app[DB]() as session:
        lines = await service.order_lines(session, order.id)
        serials = (await units_of_orders(session, [order.id])).get(order.id, [])
        order_refunds = await refunds.refunds_of(session, order.id)
        stored = await shipping.address_of(session, request.app[SETTINGS].secret_key, order.id)
    status = OrderStatus(order.status)
    visible_refunds = [r for r in order_refunds if r.status != RefundStatus.REQUESTING]
    return {
        "order": order,
        "timeline": order_timeline(order, visible_refunds),
        "cancellable": can_cancel(order) is None,
        "ship_to": stored.address,
        "address_erased": stored.erased_at,
        "lines": lines,
        "serials": serials,
        "status": status,
        "text": STATUS_TEXT[status],
        "notes": notes_for(order.invoice_additional_status),
        "payable": status in PAYABLE and bool(order.checkout_link),
        "live": status in OPEN_STATUSES or status == OrderStatus.AWAITING_INVOICE,
        "refresh": LIVE_REFRESH_SECONDS,
        "refunds": visible_refunds,
        "refund_text": refunds.REFUND_STATUS_TEXT,
    }


async def order_page(request: web.Request) -> web.Response:
    order = await readable_order(request)
    return aiohttp_jinja2.render_template(
        "checkout/order.html", request, await order_view(request, order)
    )


async def order_cancel(request: web.Request) -> web.Response:
    """ "Cancel this order": the owner (the Authorizer decides) or a guest link's holder."""
    order = await readable_order(request, "orders.cancel")
    await read_form(request)
    try:
        await cancel_order(request.app[CHECKOUT], order.id)
    except RefusedError as err:
        current = await flow.load_order(request.app[CHECKOUT], order.id) or order
        context = await order_view(request, current)
        return aiohttp_jinja2.render_template(
            "checkout/order.html",
            request,
            {**context, "refusal": err.refusal},
            status=err.refusal.status,
        )
    raise web.HTTPSeeOther(f"/orders/{order.id}")


async def order_pay(request: web.Request) -> web.Response:
    """ "Pay with bitcoin": a GET link that redirects to the invoice's checkout page."""
    order = await readable_order(request, "orders.pay")
    if order.status in PAYABLE and order.checkout_link:
        raise web.HTTPSeeOther(order.checkout_link)
    raise web.HTTPSeeOther(f"/orders/{order.id}")


async def order_invoice(request: web.Request) -> web.Response:
    """The order's invoice at BTCPay, whatever its state (paid invoices keep their receipt)."""
    order = await readable_order(request)
    if order.checkout_link:
        raise web.HTTPSeeOther(order.checkout_link)
    raise web.HTTPSeeOther(f"/orders/{order.id}")


async def order_retry_invoice(request: web.Request) -> web.Response:
    order = await readable_order(request, "orders.pay")
    await flow.open_invoice(request.app[CHECKOUT], order.id)
    raise web.HTTPSeeOther(f"/orders/{order.id}")


async def orders_page(request: web.Request) -> web.Response:
    user = await require_user(request)
    principal = await authorize(request, "orders.read")
    async with request.app[DB]() as session:
        orders = await service.orders_of(session, principal.user_id)
    return aiohttp_jinja2.render_template(
        "checkout/orders.html",
        request,
        {"orders": orders, "texts": STATUS_TEXT, "statuses": OrderStatus, "owner": user},
    )


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/cart", cart_page, name="cart")
    app.router.add_post("/cart/add", cart_add)
    app.router.add_post("/cart/update", cart_update)
    app.router.add_get("/checkout", checkout_page, name="checkout")
    app.router.add_post("/checkout", checkout_submit)
    app.router.add_get("/orders", orders_page, name="orders")
    app.router.add_get("/orders/{order_id}", order_page, name="order")
    app.router.add_get("/orders/{order_id}/pay", order_pay)
    app.router.add_get("/orders/{order_id}/invoice", order_invoice)
    app.router.add_post("/orders/{order_id}/invoice", order_retry_invoice)
    app.router.add_post("/orders/{order_id}/cancel", order_cancel)
