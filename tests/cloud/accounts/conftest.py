"""Account tests also need a shop (guest orders join accounts) and the OIDC provider
(a password change ends the tokens of hubs and apps)."""

from tests.cloud.checkout.shop import shop, sim, simulator_process  # noqa: F401
from tests.cloud.oauth.conftest import (  # noqa: F401
    browser,
    http,
    hub_setup,
    mobile,
    oauth_settings,
    provider,
    signed_in,
)
