"""Typed application keys of the checkout area."""

from __future__ import annotations

from aiohttp import web

from cloud.checkout.flow import CheckoutContext

CHECKOUT: web.AppKey[CheckoutContext] = web.AppKey("checkout", CheckoutContext)
