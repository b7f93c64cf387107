"""Checkout fixtures: the BTCPay simulator and a store wired to it."""

from tests.cloud.checkout.shop import shop, shop_without_webhook, sim  # noqa: F401
