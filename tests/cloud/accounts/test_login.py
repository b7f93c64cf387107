"""Sign-in, sessions, sign-out and brute-force protection."""

from __future__ import annotations

from datetime import timedelta

from cloud.accounts.throttle import ACCOUNT_POLICY, wait_phrase
from tests.cloud.common import (
    PASSWORD,
    log_in,
    mailed_link,
    sign_up,
    sign_up_and_confirm,
    submit_form,
)

SESSION = "ethos_session"


def _session_cookie(client) -> str | None:
    for cookie in client.session.cookie_jar:
        if cookie.key == SESSION:
            return cookie.value
    return None


async def _status_with_session(client, raw: str) -> int:
    """GET /account presenting only the given session cookie."""
    client.session.cookie_jar.clear()
    response = await client.get(
        "/account", headers={"Cookie": f"{SESSION}={raw}"}, allow_redirects=False
    )
    return response.status


async def test_unconfirmed_account_cannot_sign_in_and_is_offered_resend(
    client, smtp_server, unique_id
):
    email = f"un-{unique_id}@example.org"
    await sign_up(client, email)

    response = await log_in(client, email)

    assert response.status == 403
    body = await response.text()
    assert "confirm your email" in body
    assert 'action="/account/resend"' in body
    assert _session_cookie(client) is None


async def test_sign_in_sets_hardened_cookie_and_rotates_session(client, smtp_server, unique_id):
    email = f"si-{unique_id}@example.org"
    await sign_up_and_confirm(client, smtp_server, email)
    first = _session_cookie(client)
    assert first

    response = await log_in(client, email)

    assert response.status == 200
    second = _session_cookie(client)
    assert second and second != first
    set_cookie = response.history[0].headers.getall("Set-Cookie")
    session_header = next(h for h in set_cookie if h.startswith(SESSION))
    assert "HttpOnly" in session_header and "SameSite=Lax" in session_header
    # The old session id no longer works.
    assert await _status_with_session(client, second) == 200
    assert await _status_with_session(client, first) == 303


async def test_sign_out_ends_the_session(client, smtp_server, unique_id):
    email = f"so-{unique_id}@example.org"
    await sign_up_and_confirm(client, smtp_server, email)
    raw = _session_cookie(client)
    assert (await client.get("/account")).status == 200

    page = await client.get("/account")
    from tests.cloud.common import csrf_from

    response = await client.post(
        "/account/logout", data={"csrf_token": csrf_from(await page.text())}
    )
    assert response.status == 200
    assert await _status_with_session(client, raw) == 303


async def test_wrong_password_and_unknown_email_answer_alike(client, smtp_server, unique_id):
    email = f"wp-{unique_id}@example.org"
    await sign_up_and_confirm(client, smtp_server, email)
    client.session.cookie_jar.clear()

    wrong = await log_in(client, email, "wrong password!")
    unknown = await log_in(client, f"nobody-{unique_id}@example.org", "wrong password!")

    assert wrong.status == unknown.status == 401
    assert "Email or password is not right." in await wrong.text()
    assert "Email or password is not right." in await unknown.text()


async def test_repeated_failures_slow_then_refuse_signin(client, smtp_server, unique_id):
    email = f"bf-{unique_id}@example.org"
    await sign_up_and_confirm(client, smtp_server, email)
    client.session.cookie_jar.clear()

    statuses = [
        (await log_in(client, email, f"guess {i}")).status for i in range(ACCOUNT_POLICY.slow_after)
    ]
    assert statuses == [401] * ACCOUNT_POLICY.slow_after

    # Now even the right password is refused until the wait is over, with a Retry-After.
    response = await log_in(client, email, PASSWORD)
    assert response.status == 429
    assert int(response.headers["Retry-After"]) >= 1
    text = await response.text()
    assert "Too many attempts" in text
    # The page says how long, in words that match the Retry-After header.
    wait = int(response.headers["Retry-After"])
    assert f"Please wait {wait_phrase(wait)}, then try again." in text

    # The same holds for an address nobody registered: nothing reveals which exists.
    ghost = f"ghost-{unique_id}@example.org"
    for i in range(ACCOUNT_POLICY.slow_after):
        await log_in(client, ghost, f"guess {i}")
    assert (await log_in(client, ghost, PASSWORD)).status == 429


def test_waits_are_said_in_seconds_then_whole_minutes():
    assert wait_phrase(1) == "1 second"
    assert wait_phrase(42) == "42 seconds"
    assert wait_phrase(60) == "1 minute"
    assert wait_phrase(61) == "2 minutes"
    assert wait_phrase(900) == "15 minutes"


def test_wait_grows_like_keycloak_defaults():
    policy = ACCOUNT_POLICY
    waits = [policy.wait_after(n) for n in range(0, 200)]
    assert all(w == timedelta(0) for w in waits[: policy.slow_after])
    assert waits == sorted(waits[:30]) + waits[30:]  # never shrinks before the lock phase
    assert policy.wait_after(30) == timedelta(seconds=60)
    assert policy.wait_after(60) == timedelta(seconds=120)
    assert policy.wait_after(10_000) == timedelta(minutes=15)


async def test_password_reset_by_mail(client, smtp_server, unique_id):
    email = f"rs-{unique_id}@example.org"
    await sign_up_and_confirm(client, smtp_server, email)
    client.session.cookie_jar.clear()

    response = await submit_form(client, "/account/reset", "/account/reset", {"email": email})
    assert response.status == 200
    link = await mailed_link(smtp_server, email, count=2)
    page = await client.get(link)
    assert page.status == 200
    token = link.split("token=")[1]
    from tests.cloud.common import csrf_from

    response = await client.post(
        "/account/reset/new",
        data={
            "token": token,
            "password": "a brand new secret",
            "csrf_token": csrf_from(await page.text()),
        },
    )
    assert response.status == 200
    assert (await smtp_server.wait_for(email, count=3))[
        "Subject"
    ] == "Your Ethos password was changed"

    client.session.cookie_jar.clear()
    assert (await log_in(client, email, PASSWORD)).status == 401
    assert (await log_in(client, email, "a brand new secret")).status == 200

    # The link works once.
    page = await client.get(link)
    response = await client.post(
        "/account/reset/new",
        data={
            "token": token,
            "password": "yet another one!",
            "csrf_token": csrf_from(await page.text()),
        },
    )
    assert response.status == 410


async def test_reset_for_unknown_address_answers_the_same(client, smtp_server, unique_id):
    email = f"nobody-{unique_id}@example.org"
    response = await submit_form(client, "/account/reset", "/account/reset", {"email": email})
    assert response.status == 200
    message = await smtp_server.wait_for(email)
    assert "there is no such account" in message.get_content()


async def test_open_redirect_after_login_is_refused(client, smtp_server, unique_id):
    email = f"or-{unique_id}@example.org"
    await sign_up_and_confirm(client, smtp_server, email)
    client.session.cookie_jar.clear()
    response = await submit_form(
        client,
        "/account/login",
        "/account/login",
        {"email": email, "password": PASSWORD, "next": "//evil.example/x"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/"


async def test_sign_in_returns_to_the_full_page_asked_for(client, smtp_server, unique_id):
    email = f"nx-{unique_id}@example.org"
    await sign_up_and_confirm(client, smtp_server, email)
    client.session.cookie_jar.clear()

    response = await client.get("/account?welcome=1&from=mail", allow_redirects=False)
    assert response.status == 303
    login_page = response.headers["Location"]
    page = await client.get(login_page)
    from tests.cloud.common import csrf_from

    text = await page.text()
    assert 'name="next" value="/account?welcome=1&amp;from=mail"' in text
    response = await client.post(
        "/account/login",
        data={
            "email": email,
            "password": PASSWORD,
            "next": "/account?welcome=1&from=mail",
            "csrf_token": csrf_from(text),
        },
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/account?welcome=1&from=mail"
