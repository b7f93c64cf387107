"""The "My home" page and its broker token: signed-in only, CSRF-checked, the broker's
browser URL allowed in this page's CSP alone."""

from __future__ import annotations

import base64
import json
import re

import httpx

from cloud.web.middleware import CONTENT_SECURITY_POLICY
from tests.cloud.common import PASSWORD
from tests.cloud.remote.conftest import BROKER_WS_URL, HUB_SESSION, broker_token, user_id_of
from tests.support.oidc_client import StoreBrowser


async def test_a_signed_out_visitor_is_sent_to_sign_in(provider):
    async with httpx.AsyncClient(base_url=provider.base_url) as anonymous:
        response = await anonymous.get("/home")
    assert response.status_code == 303
    assert response.headers["location"] in (
        "/account/login?next=/home",
        "/account/login?next=%2Fhome",
    )


async def test_the_page_has_the_scripts_root_and_says_no_hub_shares_yet(browser, signed_in):
    response = await browser.http.get("/home")
    assert response.status_code == 200
    page = response.text
    assert '<script src="/static/remote/home.js" type="module"></script>' in page
    assert '<main id="remote-home" data-token-url="/home/broker-token" data-csrf="' in page
    assert 'data-state="no-home"' in page
    assert '<a href="/home">My home</a>' in page  # in the navigation


async def test_only_this_page_may_connect_to_the_broker(browser, signed_in):
    home = await browser.http.get("/home")
    policy = home.headers["content-security-policy"]
    assert f"connect-src 'self' {BROKER_WS_URL};" in policy
    assert policy == CONTENT_SECURITY_POLICY.replace(
        "connect-src 'self'", f"connect-src 'self' {BROKER_WS_URL}"
    )
    for other in ("/", "/account", "/orders", "/home/nothing-here"):
        response = await browser.http.get(other)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, other


async def test_the_broker_token_needs_the_csrf_header(browser, signed_in):
    await browser.http.get("/home")  # sets the CSRF cookie
    refused = await browser.http.post("/home/broker-token")
    assert refused.status_code == 403
    forged = await browser.http.post("/home/broker-token", headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403


async def test_the_broker_token_needs_a_session(provider):
    async with httpx.AsyncClient(base_url=provider.base_url) as anonymous:
        response = await anonymous.post(
            "/home/broker-token", headers={"Accept": "application/json"}
        )
    assert response.status_code in (401, 403)


async def test_without_a_home_there_is_no_token(browser, signed_in):
    response = await broker_token(browser)
    assert response.status_code == 200
    assert response.json() == {"ws_url": BROKER_WS_URL, "homes": []}


async def test_the_home_page_names_the_hubs_that_let_the_account_in(
    provider, http, browser, signed_in, hub
):
    owner = str(await user_id_of(provider, signed_in))
    await http.post(
        provider.base_url + HUB_SESSION, json={"enabled": True, "members": [owner]}, auth=hub.auth
    )
    page = (await browser.http.get("/home")).text
    assert f'<li data-hub="{hub.client_id}">Living room hub</li>' in page
    answer = (await broker_token(browser)).json()
    assert answer["homes"] == [{"hub": hub.client_id, "name": "Living room hub"}]
    assert answer["expires_in"] == 300 and answer["token"]
    # The token is tied to the one MQTT client id the page must connect with.
    assert re.fullmatch(r"web-[0-9a-f]{32}", answer["client_id"])
    payload = answer["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["client_id"] == answer["client_id"]
    assert claims["sub"] == f"user-{owner}"


async def test_another_account_sees_no_foreign_home(provider, http, signed_in, hub, unique_id):
    owner = str(await user_id_of(provider, signed_in))
    await http.post(
        provider.base_url + HUB_SESSION, json={"enabled": True, "members": [owner]}, auth=hub.auth
    )
    stranger = StoreBrowser(provider.base_url)
    try:
        await stranger.sign_in(await provider.new_account(f"x-{unique_id}@example.org"), PASSWORD)
        answer = await broker_token(stranger)
        assert answer.json()["homes"] == [] and "token" not in answer.json()
    finally:
        await stranger.aclose()
