"""The cart: SKU → quantity, kept in a signed cookie so guests and members shop alike.

The cookie holds no prices; prices come from the catalog when the cart is shown or
ordered, so a tampered or stale cookie can never change what an order costs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from cloud.domain import InputErrors
from cloud.security import sign, verify_signature

CART_COOKIE = "ethos_cart"
CART_PURPOSE = "cart"
MAX_LINES = 20
MAX_QUANTITY = 10
_ITEM_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,39}$")

Cart = dict[str, int]


def encode_cart(secret_key: str, cart: Mapping[str, int]) -> str:
    value = ",".join(f"{sku}:{qty}" for sku, qty in sorted(cart.items()) if qty > 0)
    return f"{value}.{sign(secret_key, CART_PURPOSE, value)}"


def decode_cart(secret_key: str, cookie: str | None) -> Cart:
    """The cart in a cookie; an unsigned, tampered or malformed cookie is an empty cart."""
    if not cookie or "." not in cookie:
        return {}
    value, _, signature = cookie.rpartition(".")
    if not verify_signature(secret_key, CART_PURPOSE, value, signature):
        return {}
    cart: Cart = {}
    for item in filter(None, value.split(",")):
        sku, _, qty = item.partition(":")
        if _ITEM_RE.match(sku) and qty.isdigit() and 0 < int(qty) <= MAX_QUANTITY:
            cart[sku] = int(qty)
    return cart


def parse_quantity(raw: str | None, allow_zero: bool = False) -> int:
    try:
        quantity = int((raw or "1").strip())
    except ValueError:
        raise InputErrors({"quantity": "Enter a whole number."}) from None
    low = 0 if allow_zero else 1
    if not low <= quantity <= MAX_QUANTITY:
        raise InputErrors({"quantity": f"Choose between {low} and {MAX_QUANTITY}."})
    return quantity


def set_quantity(cart: Mapping[str, int], sku: str, quantity: int) -> Cart:
    updated = dict(cart)
    if quantity <= 0:
        updated.pop(sku, None)
    else:
        updated[sku] = quantity
    if len(updated) > MAX_LINES:
        raise InputErrors({"sku": f"A cart holds at most {MAX_LINES} different products."})
    return updated
