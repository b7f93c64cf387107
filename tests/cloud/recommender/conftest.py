"""Recommender surface fixtures: the checkout's BTCPay simulator, reused."""

from tests.cloud.checkout.shop import sim, simulator_process  # noqa: F401
