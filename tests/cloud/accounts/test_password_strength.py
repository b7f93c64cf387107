"""Common and guessable passwords are refused, saying why and how to pick a better one."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from cloud.accounts.models import User
from cloud.accounts.strength import common_passwords, find_weakness, personal_words
from cloud.web.keys import DB
from tests.cloud.common import PASSWORD, log_in, sign_up, sign_up_and_confirm, submit_form

REFUSED = [
    ("password1234", "common"),  # accepted before this check existed
    ("P@ssw0rd!!2024", "common"),
    ("2024dragon!!", "common"),
    ("qwertyuiop", "common"),
    ("1234567890", "common"),
    ("aaaaaaaaaaaa", "guessable"),
    ("abcdefghijkl", "guessable"),
    ("ada.lovelace1815", "guessable"),  # the person's own address with a year
    ("11/02/1990ab", "guessable"),  # a date
    ("mnbvcxzlkjhg", "guessable"),  # a keyboard row
]
ACCEPTED = [PASSWORD, "violet kettle orbit mango", "Kx9!mQ2#vLp7wR"]


async def _user_count(client) -> int:
    async with client.app[DB]() as session:
        return await session.scalar(select(func.count()).select_from(User))


@pytest.mark.parametrize(("password", "reason"), REFUSED)
def test_weak_passwords_are_found_with_their_reason(password, reason):
    weakness = find_weakness(password, personal_words("ada.lovelace@example.org"))

    assert weakness is not None, password
    assert weakness.reason == reason
    assert "Pick a better one" in weakness.message


@pytest.mark.parametrize("password", ACCEPTED)
def test_strong_passwords_pass(password):
    assert find_weakness(password, personal_words("ada.lovelace@example.org")) is None


def test_the_bundled_list_is_loaded_without_its_comments():
    listed = common_passwords()
    assert len(listed) > 3000
    assert "password" in listed and "qwertyuiop" in listed
    assert not any(entry.startswith("#!") for entry in listed)


async def test_signup_form_refuses_password1234_and_writes_nothing(client, smtp_server):
    response = await sign_up(client, "ada@example.org", "password1234")

    assert response.status == 422
    body = html.unescape(await response.text())
    assert 'id="password-error"' in body
    assert "one of the most common passwords" in body and "Pick a better one" in body
    assert await _user_count(client) == 0
    assert smtp_server.messages() == []


async def test_json_signup_refuses_a_guessable_password_with_the_reason(client, smtp_server):
    response = await client.post(
        "/api/v1/account/signup", json={"email": "ada@example.org", "password": "aaaaaaaaaaaa"}
    )

    assert response.status == 422
    assert "too easy to guess" in await response.text()
    assert await _user_count(client) == 0
    response = await client.post(
        "/api/v1/account/signup", json={"email": "ada@example.org", "password": PASSWORD}
    )
    assert response.status in (200, 201, 202)
    assert await _user_count(client) == 1


async def test_changing_to_a_common_password_is_refused_and_the_old_one_still_works(
    client, smtp_server
):
    await sign_up_and_confirm(client, smtp_server, "ada@example.org")

    response = await submit_form(
        client,
        "/account/password",
        "/account/password",
        {"current_password": PASSWORD, "new_password": "Password1234!"},
    )

    assert response.status == 422
    body = html.unescape(await response.text())
    assert 'id="new_password-error"' in body and "most common passwords" in body
    client.session.cookie_jar.clear()
    assert (await log_in(client, "ada@example.org", PASSWORD)).status == 200
