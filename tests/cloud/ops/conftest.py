"""Operations fixtures: the BTCPay simulator and a store wired to it (checkout's)."""

from tests.cloud.checkout.shop import shop, sim, simulator_process  # noqa: F401
