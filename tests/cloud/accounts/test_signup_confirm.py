"""Steps 1–2 of the story: sign up (partial row), confirm by mail (row completed, signed in)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from cloud.accounts.models import EmailToken, User
from cloud.db import utcnow
from cloud.web.keys import DB
from tests.cloud.common import PASSWORD, confirm_with_link, mailed_link, sign_up, submit_form


async def _user(client, email: str) -> User | None:
    async with client.app[DB]() as session:
        return await session.scalar(select(User).where(User.email == email))


async def _user_count(client) -> int:
    async with client.app[DB]() as session:
        return await session.scalar(select(func.count()).select_from(User))


async def test_signup_creates_partial_user_and_mails_link(client, smtp_server, unique_id):
    email = f"Ada.{unique_id}@Example.org"
    response = await sign_up(client, email)

    assert response.status == 200
    assert "Check your email" in await response.text()
    user = await _user(client, email.lower())
    assert user is not None
    assert user.confirmed is False and user.confirmed_at is None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    message = await smtp_server.wait_for(email.lower())
    assert message["Subject"] == "Confirm your Ethos account"
    assert "/account/confirm?token=" in message.get_content()


async def test_confirmation_link_completes_row_and_signs_in(client, smtp_server, unique_id):
    email = f"bo-{unique_id}@example.org"
    await sign_up(client, email)
    link = await mailed_link(smtp_server, email)

    # Opening the link (as a mail scanner also does) changes nothing yet.
    page = await client.get(link)
    assert page.status == 200 and email in await page.text()
    assert (await _user(client, email)).confirmed is False
    response = await confirm_with_link(client, link)

    assert response.status == 200
    assert "Welcome to Ethos" in await response.text()
    assert email in await response.text()
    user = await _user(client, email)
    assert user.confirmed is True
    assert user.confirmed_at is not None and user.confirmed_at.tzinfo is not None
    # The token is stored hashed, never in clear.
    token = link.split("token=")[1]
    async with client.app[DB]() as session:
        stored = (await session.scalars(select(EmailToken.token_hash))).all()
    assert token not in stored and len(stored) == 1


async def test_used_link_shows_clear_page_with_resend(client, smtp_server, unique_id):
    email = f"cy-{unique_id}@example.org"
    await sign_up(client, email)
    link = await mailed_link(smtp_server, email)
    await confirm_with_link(client, link)
    client.session.cookie_jar.clear()

    response = await client.get(link)

    assert response.status == 410
    body = await response.text()
    assert "already used" in body
    assert 'action="/account/resend"' in body


async def test_expired_link_is_refused_and_resend_sends_a_new_one(client, smtp_server, unique_id):
    email = f"di-{unique_id}@example.org"
    await sign_up(client, email)
    link = await mailed_link(smtp_server, email)
    async with client.app[DB]() as session, session.begin():
        await session.execute(update(EmailToken).values(expires_at=utcnow() - timedelta(seconds=1)))

    response = await client.get(link)
    assert response.status == 410
    assert "expired" in await response.text()
    assert (await _user(client, email)).confirmed is False

    response = await submit_form(client, "/account/resend", "/account/resend", {"email": email})
    assert response.status == 200
    new_link = await mailed_link(smtp_server, email, count=2)
    assert new_link != link
    assert (await confirm_with_link(client, new_link)).status == 200
    assert (await _user(client, email)).confirmed is True


async def test_unknown_token_gets_a_clear_page(client):
    response = await client.get("/account/confirm?token=not-a-token")
    assert response.status == 400
    assert "not valid" in await response.text()


async def test_duplicate_email_gets_same_answer_and_an_explaining_mail(
    client, smtp_server, unique_id
):
    email = f"eve-{unique_id}@example.org"
    first = await sign_up(client, email)
    await confirm_with_link(client, await mailed_link(smtp_server, email))
    client.session.cookie_jar.clear()

    second = await sign_up(client, email.upper(), "another password 123")

    assert second.status == first.status == 200
    assert (await first.text()).replace(email, "X") == (await second.text()).replace(email, "X")
    message = await smtp_server.wait_for(email, count=2)
    assert "already exists" in message.get_content()
    assert await _user_count(client) == 1


async def test_signup_bad_input_gets_field_errors_and_writes_nothing(client, smtp_server):
    response = await sign_up(client, "not-an-email", "short")
    assert response.status == 422
    body = await response.text()
    assert 'id="email-error"' in body
    assert await _user_count(client) == 0

    response = await sign_up(client, "ok@example.org", "short")
    assert response.status == 422
    assert 'id="password-error"' in await response.text()
    assert await _user_count(client) == 0
    assert smtp_server.messages() == []


async def test_forms_without_csrf_token_are_refused(client):
    await client.get("/account/signup")
    response = await client.post(
        "/account/signup", data={"email": "x@example.org", "password": PASSWORD}
    )
    assert response.status == 403
    response = await client.post(
        "/account/signup",
        data={"email": "x@example.org", "password": PASSWORD, "csrf_token": "forged"},
    )
    assert response.status == 403
    assert await _user_count(client) == 0


async def test_cross_site_origin_is_refused(client):
    page = await client.get("/account/signup")
    from tests.cloud.common import csrf_from

    token = csrf_from(await page.text())
    response = await client.post(
        "/account/signup",
        data={"email": "x@example.org", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status == 403


async def test_resend_with_a_bad_address_keeps_the_form_with_its_error(client, smtp_server):
    response = await submit_form(client, "/account/resend", "/account/resend", {"email": "nope"})
    assert response.status == 422
    body = await response.text()
    assert 'id="email-error"' in body and 'action="/account/resend"' in body
    assert smtp_server.messages() == []
