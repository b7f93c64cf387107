"""The device authorization grant (RFC 8628): a hub onboards, its owner approves at /device."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update

from cloud.db import utcnow
from cloud.oauth.models import DeviceGrant
from cloud.web.keys import DB
from tests.cloud.common import csrf_from
from tests.support.oidc_client import DEVICE_GRANT, OidcClient, OidcError, StoreBrowser

ONBOARDING_SCOPE = "openid profile email devices hub.register"


async def _poll(client: OidcClient, device_code: str) -> dict:
    return await client.token_request({"grant_type": DEVICE_GRANT, "device_code": device_code})


async def _poll_error(client: OidcClient, device_code: str) -> str:
    with pytest.raises(OidcError) as refused:
        await _poll(client, device_code)
    assert refused.value.status == 400
    return refused.value.error


async def test_hub_onboards_with_the_device_flow(provider, browser, signed_in, hub_setup, http):
    device = await hub_setup.start_device_flow(ONBOARDING_SCOPE)
    assert device.verification_uri == f"{provider.base_url}/device"
    assert device.verification_uri_complete.endswith(f"?user_code={device.user_code}")
    assert device.interval == 5 and device.expires_in == 600

    assert await _poll_error(hub_setup, device.device_code) == "authorization_pending"
    assert await _poll_error(hub_setup, device.device_code) == "slow_down"

    page = await browser.http.get(device.verification_uri_complete)
    assert page.status_code == 200 and device.user_code in page.text
    assert "Ethos hub setup" in page.text and 'data-scope="devices"' in page.text
    answer = await browser.decide_device(device.user_code, approve=True)
    assert answer.status_code == 200 and "connected" in answer.text

    tokens = await hub_setup.poll_device_token(device, interval=0)
    assert tokens.scope.split() == ONBOARDING_SCOPE.split() and tokens.refresh_token
    assert tokens.expires_in == 300
    assert (await hub_setup.userinfo(tokens.access_token))["email"] == signed_in
    me = await http.get(
        f"{provider.base_url}/api/v1/me",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert me.status_code == 200 and me.json()["email"] == signed_in
    # The device code is spent.
    assert await _poll_error(hub_setup, device.device_code) == "invalid_grant"
    # And the onboarding refresh token rotates like any other.
    assert (await hub_setup.refresh(tokens.refresh_token)).access_token


async def test_slow_down_lengthens_the_interval_by_five_seconds(provider, hub_setup):
    device = await hub_setup.start_device_flow("openid")
    assert await _poll_error(hub_setup, device.device_code) == "authorization_pending"
    assert await _poll_error(hub_setup, device.device_code) == "slow_down"
    async with provider.app[DB]() as session:
        row = await session.scalar(select(DeviceGrant))
    assert row.interval == 10
    # Waiting the interval is fine again.
    async with provider.app[DB]() as session, session.begin():
        await session.execute(
            update(DeviceGrant).values(last_polled_at=utcnow() - timedelta(seconds=11))
        )
    assert await _poll_error(hub_setup, device.device_code) == "authorization_pending"


async def test_the_owner_can_deny(browser, signed_in, hub_setup):
    device = await hub_setup.start_device_flow(ONBOARDING_SCOPE)
    answer = await browser.decide_device(device.user_code, approve=False)
    assert answer.status_code == 200 and "not connected" in answer.text
    assert await _poll_error(hub_setup, device.device_code) == "access_denied"
    # A decided code cannot be approved afterwards.
    again = await browser.decide_device(device.user_code, approve=True)
    assert again.status_code == 404
    assert await _poll_error(hub_setup, device.device_code) == "access_denied"


async def test_an_expired_device_code_is_expired_token(provider, browser, signed_in, hub_setup):
    device = await hub_setup.start_device_flow("openid")
    async with provider.app[DB]() as session, session.begin():
        await session.execute(
            update(DeviceGrant).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await _poll_error(hub_setup, device.device_code) == "expired_token"
    page = await browser.http.get(device.verification_uri_complete)
    assert page.status_code == 404 and "expired" in page.text
    answer = await browser.decide_device(device.user_code, approve=True)
    assert answer.status_code == 404
    assert await _poll_error(hub_setup, device.device_code) == "expired_token"


async def test_unknown_device_code_is_invalid_grant(hub_setup):
    assert await _poll_error(hub_setup, "made-up") == "invalid_grant"


async def test_the_device_code_belongs_to_its_client(provider, hub_setup, mobile):
    device = await hub_setup.start_device_flow("openid")
    with pytest.raises(OidcError) as refused:
        await _poll(mobile, device.device_code)
    assert refused.value.error == "unauthorized_client"


async def test_a_client_without_the_device_grant_cannot_start_it(mobile):
    with pytest.raises(OidcError) as refused:
        await mobile.start_device_flow("openid")
    assert refused.value.error == "unauthorized_client"


@pytest.mark.parametrize("scope", ["openid admin", "openid devices root"])
async def test_unknown_scopes_are_refused(hub_setup, scope):
    with pytest.raises(OidcError) as refused:
        await hub_setup.start_device_flow(scope)
    assert refused.value.error == "invalid_scope"


async def test_unknown_client_cannot_start_the_device_flow(provider, http):
    response = await http.post(
        f"{provider.base_url}/oauth/device_authorization", data={"client_id": "nobody"}
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_client"


async def test_the_approval_page_needs_a_signed_in_owner(provider, hub_setup):
    device = await hub_setup.start_device_flow("openid")
    anonymous = StoreBrowser(provider.base_url)
    try:
        response = await anonymous.http.get(device.verification_uri_complete)
        assert response.status_code == 303
        location = urlsplit(response.headers["location"])
        assert location.path == "/account/login"
        assert parse_qs(location.query)["next"] == [f"/device?user_code={device.user_code}"]
    finally:
        await anonymous.aclose()


async def test_codes_are_typed_loosely_but_matched_exactly(browser, signed_in, hub_setup):
    device = await hub_setup.start_device_flow("openid")
    sloppy = device.user_code.replace("-", " ").lower()
    page = await browser.http.get("/device", params={"user_code": sloppy})
    assert page.status_code == 200 and device.user_code in page.text
    wrong = await browser.http.get("/device", params={"user_code": "BBBB-BBBB"})
    assert wrong.status_code == 404
    assert await _poll_error(hub_setup, device.device_code) == "authorization_pending"


async def test_entering_the_code_by_hand_leads_to_the_confirmation(browser, signed_in, hub_setup):
    device = await hub_setup.start_device_flow("openid")
    form = await browser.http.get("/device")
    assert form.status_code == 200 and 'name="user_code"' in form.text
    token = csrf_from(form.text)
    response = await browser.http.post(
        "/device", data={"user_code": device.user_code, "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/device?user_code={device.user_code}"


async def test_the_reference_client_keeps_polling_through_pending_and_slow_down(
    browser, signed_in, hub_setup
):
    device = await hub_setup.start_device_flow("openid email")
    polling = asyncio.create_task(hub_setup.poll_device_token(device, interval=0.02, max_polls=500))
    await asyncio.sleep(0.3)  # several polls answered `authorization_pending` / `slow_down`
    assert not polling.done()
    await browser.decide_device(device.user_code, approve=True)
    tokens = await asyncio.wait_for(polling, timeout=20)
    assert (await hub_setup.userinfo(tokens.access_token))["email"] == signed_in


async def test_guessing_user_codes_is_slowed_then_refused(browser, signed_in, hub_setup):
    device = await hub_setup.start_device_flow("openid")
    answers = []
    for guess in range(6):
        wrong = await browser.http.get("/device", params={"user_code": f"BBBB-BBB{guess}"})
        answers.append(wrong.status_code)
    # Five wrong codes are just wrong; the sixth earns a wait, told to the person.
    assert answers == [404] * 5 + [429]
    waiting = await browser.http.get("/device", params={"user_code": device.user_code})
    assert waiting.status_code == 429
    assert "Too many wrong codes" in waiting.text and int(waiting.headers["retry-after"]) >= 1
    # While the wait lasts even the right code is not looked up, so nothing is approved.
    assert await _poll_error(hub_setup, device.device_code) == "authorization_pending"
