"""Client authentication at the refresh grant: a confidential hub proves its secret (in the
Basic header or in the form) on every refresh, a wrong one is refused as RFC 6749 §5.2
says, and the answer is never cached; parameters in the query string are read too."""

from __future__ import annotations

import pytest

from tests.cloud.oauth.conftest import HUB_REDIRECT_URI
from tests.cloud.oauth.hubs import HUB_METADATA, MEMBER_SCOPE, hub_client, onboard
from tests.support.oidc_client import OidcClient, OidcError, Tokens


async def _hub_with_tokens(
    provider, browser, hub_setup, http, auth_method: str
) -> tuple[OidcClient, Tokens]:
    """A registered (confidential) hub, and tokens of the signed-in owner for it."""
    onboarding = await onboard(browser, hub_setup)
    registered = await hub_setup.register(
        onboarding.access_token, HUB_METADATA | {"token_endpoint_auth_method": auth_method}
    )
    hub = hub_client(provider.base_url, registered, http)
    assert hub.auth_method == auth_method
    request = await hub.authorization_request(MEMBER_SCOPE)
    callback = await browser.authorize(request.url, HUB_REDIRECT_URI, consent="allow")
    return hub, await hub.exchange_code(callback, request)


async def test_a_hub_refreshes_with_its_secret_in_the_basic_header_and_not_without(
    provider, browser, signed_in, hub_setup, http
):
    hub, tokens = await _hub_with_tokens(provider, browser, hub_setup, http, "client_secret_basic")
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
    token_url = f"{provider.base_url}/oauth/token"

    wrong = await http.post(token_url, data=refresh, auth=(hub.client_id, "not-the-secret"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"].startswith('Basic error="invalid_client"')
    assert wrong.headers["Cache-Control"] == "no-store"
    # The secret in the form is not this client's method: refused the same way.
    posted = await http.post(
        token_url, data=refresh | {"client_id": hub.client_id, "client_secret": hub.client_secret}
    )
    assert posted.status_code == 401 and posted.json()["error"] == "invalid_client"

    # The refused attempts spent nothing: the token still works, with the right secret.
    answer = await http.post(token_url, data=refresh, auth=(hub.client_id, hub.client_secret))
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Pragma"] == "no-cache"
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"] != tokens.refresh_token
    assert body["scope"].split() == tokens.scope.split()


async def test_a_hub_registered_for_client_secret_post_refreshes_with_the_secret_in_the_form(
    provider, browser, signed_in, hub_setup, http
):
    hub, tokens = await _hub_with_tokens(provider, browser, hub_setup, http, "client_secret_post")
    refreshed = await hub.refresh(tokens.refresh_token)
    assert refreshed.refresh_token != tokens.refresh_token
    # Its id alone (the public clients' way) is not enough for a confidential client.
    with pytest.raises(OidcError) as refused:
        await OidcClient(provider.base_url, hub.client_id, http).refresh(refreshed.refresh_token)
    assert refused.value.error == "invalid_client"
    assert (await hub.refresh(refreshed.refresh_token)).scope == refreshed.scope


async def test_a_refresh_naming_its_client_in_the_query_string_is_answered_alike(
    provider, browser, signed_in, mobile, http
):
    request = await mobile.authorization_request("openid email")
    callback = await browser.authorize(request.url, mobile.redirect_uri or "")
    tokens = await mobile.exchange_code(callback, request)
    answer = await http.post(
        f"{provider.base_url}/oauth/token",
        params={"client_id": mobile.client_id},
        data={"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.json()["scope"] == "openid email"
