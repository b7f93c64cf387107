"""The store on a real port and an OIDC client: the OAuth tests' fixtures, reused."""

from tests.cloud.oauth.conftest import (  # noqa: F401 (pytest fixtures)
    browser,
    http,
    mobile,
    oauth_settings,
    provider,
    signed_in,
)
