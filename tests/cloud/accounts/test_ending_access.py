"""A password reset or change leaves no other way in (issue #14, hole 9).

Every web session ends (the person who just set the password gets a fresh one), every
OAuth token family ends (access and refresh tokens, unused codes, approved device codes
not yet picked up), and every link mailed before stops working.
"""

from __future__ import annotations

import pytest

from cloud.accounts.throttle import ACCOUNT_POLICY
from tests.cloud.common import (
    PASSWORD,
    confirm_with_link,
    csrf_from,
    log_in,
    mailed_link,
    sign_up,
    sign_up_and_confirm,
    submit_form,
    token_of,
)
from tests.support.oidc_client import (
    DEVICE_GRANT,
    AuthorizationRequest,
    OidcClient,
    OidcError,
    StoreBrowser,
    Tokens,
)

SCOPE = "openid profile email devices"
NEW_PASSWORD = "a brand new secret"


async def _tokens(browser: StoreBrowser, client: OidcClient) -> Tokens:
    request = await client.authorization_request(SCOPE)
    callback = await browser.authorize(request.url, client.redirect_uri or "")
    return await client.exchange_code(callback, request)


async def _unexchanged_code(
    browser: StoreBrowser, client: OidcClient
) -> tuple[str, AuthorizationRequest]:
    request = await client.authorization_request(SCOPE)
    return await browser.authorize(request.url, client.redirect_uri or ""), request


async def _approved_device_code(browser: StoreBrowser, hub_setup: OidcClient) -> str:
    device = await hub_setup.start_device_flow(SCOPE)
    assert (await browser.decide_device(device.user_code, approve=True)).status_code == 200
    return device.device_code


async def _assert_no_oauth_way_in(
    mobile: OidcClient,
    hub_setup: OidcClient,
    tokens: Tokens,
    code: tuple[str, AuthorizationRequest],
    device_code: str,
) -> None:
    with pytest.raises(OidcError) as refused:
        await mobile.userinfo(tokens.access_token)
    assert refused.value.status == 401
    with pytest.raises(OidcError) as refused:
        await mobile.refresh(tokens.refresh_token or "")
    assert refused.value.error == "invalid_grant"
    with pytest.raises(OidcError) as refused:
        await mobile.exchange_code(*code)
    assert refused.value.error == "invalid_grant"
    with pytest.raises(OidcError) as refused:
        await hub_setup.token_request({"grant_type": DEVICE_GRANT, "device_code": device_code})
    assert refused.value.error == "access_denied"


async def _reset_by_mail(provider, email: str, password: str) -> None:
    client = provider.client
    client.session.cookie_jar.clear()
    sent = len(provider.smtp.messages_to(email))
    response = await submit_form(client, "/account/reset", "/account/reset", {"email": email})
    assert response.status == 200
    link = await mailed_link(provider.smtp, email, count=sent + 1)
    response = await submit_form(
        client, link, "/account/reset/new", {"token": token_of(link), "password": password}
    )
    assert response.status == 200, await response.text()


async def _change_password(browser: StoreBrowser, current: str, new: str):
    page = await browser.http.get("/account")
    return await browser.http.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "csrf_token": csrf_from(page.text),
        },
    )


async def test_a_password_reset_ends_earlier_tokens_codes_and_sessions(
    provider, browser, signed_in, mobile, hub_setup
):
    tokens = await _tokens(browser, mobile)
    code = await _unexchanged_code(browser, mobile)
    device_code = await _approved_device_code(browser, hub_setup)
    assert (await mobile.userinfo(tokens.access_token))["email"] == signed_in

    await _reset_by_mail(provider, signed_in, NEW_PASSWORD)

    await _assert_no_oauth_way_in(mobile, hub_setup, tokens, code, device_code)
    assert (await browser.http.get("/account")).status_code == 303  # signed out
    # A new sign-in works as before.
    await browser.sign_in(signed_in, NEW_PASSWORD)
    fresh = await _tokens(browser, mobile)
    assert (await mobile.userinfo(fresh.access_token))["email"] == signed_in


async def test_a_password_change_ends_other_sessions_and_every_token(
    provider, browser, signed_in, mobile, hub_setup
):
    tokens = await _tokens(browser, mobile)
    code = await _unexchanged_code(browser, mobile)
    device_code = await _approved_device_code(browser, hub_setup)
    other = StoreBrowser(provider.base_url)
    try:
        await other.sign_in(signed_in, PASSWORD)
        assert (await other.http.get("/account")).status_code == 200

        page = await browser.http.get("/account")
        assert 'action="/account/password"' in page.text
        response = await _change_password(browser, PASSWORD, NEW_PASSWORD)

        assert response.status_code == 303
        assert response.headers["Location"] == "/account?password_changed=1"
        assert (await other.http.get("/account")).status_code == 303  # signed out
    finally:
        await other.aclose()
    changed = await browser.http.get("/account?password_changed=1")
    assert changed.status_code == 200 and "Your password was changed" in changed.text
    await _assert_no_oauth_way_in(mobile, hub_setup, tokens, code, device_code)
    message = await provider.smtp.wait_for(signed_in, count=2)
    assert message["Subject"] == "Your Ethos password was changed"
    assert (await log_in(provider.client, signed_in, PASSWORD)).status == 401
    assert (await log_in(provider.client, signed_in, NEW_PASSWORD)).status == 200


async def test_a_wrong_current_password_changes_nothing_and_is_throttled_like_sign_in(
    provider, browser, signed_in
):
    for attempt in range(ACCOUNT_POLICY.slow_after):
        response = await _change_password(browser, f"guess {attempt}", NEW_PASSWORD)
        assert response.status_code == 401
        assert "That is not your current password." in response.text

    response = await _change_password(browser, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    # The guesses count against the account's sign-in too, and the password is unchanged.
    assert (await log_in(provider.client, signed_in, PASSWORD)).status == 429
    assert (await browser.http.get("/account")).status_code == 200


async def test_a_password_change_needs_the_form_token_and_a_usable_password(
    provider, browser, signed_in
):
    response = await browser.http.post(
        "/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 403
    response = await _change_password(browser, PASSWORD, "short")
    assert response.status_code == 422 and 'id="new_password-error"' in response.text
    assert (await log_in(provider.client, signed_in, PASSWORD)).status == 200


async def test_an_older_reset_link_is_dead_after_another_reset(client, smtp_server, unique_id):
    email = f"reset-{unique_id}@example.org"
    await sign_up_and_confirm(client, smtp_server, email)
    client.session.cookie_jar.clear()
    for count in (2, 3):
        await submit_form(client, "/account/reset", "/account/reset", {"email": email})
        await smtp_server.wait_for(email, count=count)
    older = await mailed_link(smtp_server, email, count=2)
    newer = await mailed_link(smtp_server, email, count=3)
    response = await submit_form(
        client, newer, "/account/reset/new", {"token": token_of(newer), "password": NEW_PASSWORD}
    )
    assert response.status == 200
    client.session.cookie_jar.clear()

    assert (await client.get(older)).status == 410
    response = await submit_form(
        client,
        "/account/reset",
        "/account/reset/new",
        {"token": token_of(older), "password": "x" * 12},
    )
    assert response.status == 410
    assert (await log_in(client, email, "x" * 12)).status == 401
    assert (await log_in(client, email, NEW_PASSWORD)).status == 200


async def test_a_reset_link_is_dead_after_a_password_change(provider, browser, signed_in):
    await submit_form(provider.client, "/account/reset", "/account/reset", {"email": signed_in})
    link = await mailed_link(provider.smtp, signed_in, count=2)
    assert (await _change_password(browser, PASSWORD, NEW_PASSWORD)).status_code == 303

    response = await submit_form(
        provider.client,
        "/account/reset",
        "/account/reset/new",
        {"token": token_of(link), "password": "x" * 12},
    )
    assert response.status == 410
    assert (await log_in(provider.client, signed_in, NEW_PASSWORD)).status == 200


async def test_an_unused_confirmation_link_no_longer_signs_in_after_confirmation(
    client, smtp_server, unique_id, aiohttp_client
):
    email = f"twice-{unique_id}@example.org"
    await sign_up(client, email)
    await sign_up(client, email)  # signed up twice: two links
    await submit_form(client, "/account/resend", "/account/resend", {"email": email})
    first = await mailed_link(smtp_server, email, count=1)
    second = await mailed_link(smtp_server, email, count=2)
    resent = await mailed_link(smtp_server, email, count=3)
    assert (await confirm_with_link(client, first)).status == 200

    holder = await aiohttp_client(client.server)
    for link in (second, resent):
        assert (await holder.get(link)).status == 410
        response = await submit_form(
            holder,
            "/account/resend",
            "/account/confirm",
            {"token": token_of(link), "password": PASSWORD},
            allow_redirects=False,
        )
        assert response.status == 410
        assert (await holder.get("/account", allow_redirects=False)).status == 303
