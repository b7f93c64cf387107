"""Fixtures (shared with checkout): the BTCPay simulator and a store wired to it."""

from tests.cloud.checkout.shop import (  # noqa: F401
    shop,
    shop_without_webhook,
    sim,
    simulator_process,
)
