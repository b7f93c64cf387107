"""Malformed input at the provider gets a clear 400, never a 500, an empty answer or a
redirect to an address nobody checked."""

from __future__ import annotations

import pytest

from tests.cloud.oauth.hubs import onboard

UNSAFE_IN_A_URL = ["\\", "\t", '"']

MALFORMED_BODIES = {
    "invalid UTF-8": ("application/x-www-form-urlencoded", b"grant_type=\xff\xfe&client_id=\xc3"),
    "a bogus charset": ("application/x-www-form-urlencoded; charset=bogus-8", b"client_id=x"),
    "multipart without boundary": ("multipart/form-data", b"--x\r\nclient_id\r\n--x--"),
    "JSON that is not an object": ("application/json", b"[1, 2, 3]"),
}


@pytest.mark.parametrize("char", UNSAFE_IN_A_URL, ids=["backslash", "tab", "quote"])
async def test_a_redirect_uri_with_a_character_no_url_holds_is_refused_with_400(
    provider, browser, signed_in, mobile, char
):
    request = await mobile.authorization_request("openid")
    url = request.url.replace("%2Fapp%2Fcallback", "%2Fapp%2Fcallback" + _escaped(char))
    assert url != request.url
    response = await browser.http.get(url)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "redirect_uri" in response.text and "characters a URL cannot carry" in response.text


async def test_an_odd_response_type_is_refused_with_400(provider, browser, signed_in, mobile):
    request = await mobile.authorization_request("openid")
    for odd in ("co%22de", "co%5Cde", "co%09de", "c%C3%B6de"):
        response = await browser.http.get(
            request.url.replace("response_type=code", f"response_type={odd}")
        )
        assert response.status_code == 400, odd
        assert "location" not in response.headers


def _escaped(char: str) -> str:
    return "%" + format(ord(char), "02X")


@pytest.mark.parametrize("kind", list(MALFORMED_BODIES))
async def test_malformed_bodies_get_an_oauth_error_at_every_endpoint(
    provider, browser, signed_in, hub_setup, http, kind
):
    onboarding = await onboard(browser, hub_setup)
    bearer = {"Authorization": f"Bearer {onboarding.access_token}"}
    content_type, body = MALFORMED_BODIES[kind]
    endpoints = {
        "/oauth/token": {},
        "/oauth/revoke": {},
        "/oauth/device_authorization": {},
        "/oauth/userinfo": bearer,
        "/oauth/register": bearer,
    }
    for path, headers in endpoints.items():
        response = await http.post(
            provider.base_url + path,
            content=body,
            headers={**headers, "Content-Type": content_type},
        )
        assert response.status_code == 400, (path, response.status_code, response.text)
        answer = response.json()
        assert answer["error"] in ("invalid_request", "invalid_client_metadata"), path
        assert answer["error_description"], path


async def test_a_registration_body_nested_beyond_reason_is_refused(
    provider, browser, signed_in, hub_setup, http
):
    onboarding = await onboard(browser, hub_setup)
    response = await http.post(
        f"{provider.base_url}/oauth/register",
        content=b"[" * 50_000,
        headers={
            "Authorization": f"Bearer {onboarding.access_token}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
