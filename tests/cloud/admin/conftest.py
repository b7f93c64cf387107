"""Console tests use the store served on a real port for the OIDC provider (bearer tokens)."""

from tests.cloud.checkout.shop import shop, shop_without_webhook, sim, simulator_process  # noqa: F401
from tests.cloud.oauth.conftest import (  # noqa: F401
    browser,
    http,
    mobile,
    oauth_settings,
    provider,
    signed_in,
)
