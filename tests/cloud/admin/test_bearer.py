"""A bearer access token never opens the console, even one belonging to an operator."""

from __future__ import annotations

import httpx

from cloud.authz import NOT_OPERATOR, NOT_SIGNED_IN, RULES, SESSION_SCOPES, Principal, decide
from cloud.config import CloudSettings
from tests.cloud.admin.common import grant
from tests.support.oidc_client import OidcClient, StoreBrowser

ALL_APP_SCOPES = "openid profile email devices orders"


async def test_an_operators_token_is_refused_at_admin(
    provider,
    browser: StoreBrowser,
    signed_in: str,
    mobile: OidcClient,
    http: httpx.AsyncClient,
    oauth_settings: CloudSettings,
):
    await grant(oauth_settings, signed_in)
    request = await mobile.authorization_request(ALL_APP_SCOPES)
    callback = await browser.authorize(request.url, provider.mobile_redirect_uri)
    token = (await mobile.exchange_code(callback, request)).access_token
    assert (await mobile.userinfo(token))["sub"]  # the token itself works where it should

    for method, path in (("GET", "/admin"), ("GET", "/admin/audit"), ("POST", "/admin/verify")):
        response = await http.request(
            method,
            provider.base_url + path,
            headers={"Authorization": f"Bearer {token}"},
            follow_redirects=False,
        )
        assert response.status_code in (303, 403), path
        if response.status_code == 303:
            assert response.headers["location"].startswith("/account/login"), path
        assert "Audit log" not in response.text


def test_the_authorizer_gives_operator_actions_to_operator_sessions_only():
    session_operator = Principal(1, "op@example.org", SESSION_SCOPES, operator=True)
    token_operator = Principal(1, "op@example.org", frozenset(ALL_APP_SCOPES.split()), "app", True)
    customer = Principal(2, "buyer@example.org", SESSION_SCOPES)
    admin_actions = [action for action in RULES if action.startswith("admin.")]
    assert admin_actions
    for action in admin_actions:
        assert decide(session_operator, action) is None
        assert decide(token_operator, action) == NOT_OPERATOR
        assert decide(customer, action) == NOT_OPERATOR
        assert decide(None, action) == NOT_SIGNED_IN
