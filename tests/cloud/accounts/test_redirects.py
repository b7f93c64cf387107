"""After sign-in the store follows `next` only to a plain path of its own (issue #14, hole 7).

Browsers drop tabs and newlines inside URLs and read `\\` as `/`, so a `next` that looks
local to a naive check can still send the person to another site.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.cloud.common import PASSWORD, csrf_from, sign_up_and_confirm

OFF_SITE = [
    "/\t/evil.example",  # `next=/%09/evil.example`
    "/\n/evil.example",  # `next=/%0a/evil.example`
    "/\r/evil.example",
    "\\evil.example",
    "/\\evil.example",
    "//evil.example",
    "///evil.example",
    "/\x00/evil.example",
    " //evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
]


@pytest.fixture
async def account(client, smtp_server, unique_id) -> str:
    email = f"next-{unique_id}@example.org"
    await sign_up_and_confirm(client, smtp_server, email)
    client.session.cookie_jar.clear()
    return email


@pytest.mark.parametrize("target", OFF_SITE)
async def test_sign_in_never_redirects_off_site(client, account, target):
    page = await client.get("/account/login?next=" + quote(target, safe=""))
    text = await page.text()
    assert 'name="next" value="/"' in text
    response = await client.post(
        "/account/login",
        data={
            "email": account,
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_from(text),
        },
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/"

    # Already signed in, the login page redirects at once: the same rule holds.
    response = await client.get(
        "/account/login?next=" + quote(target, safe=""), allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "target", ["/account", "/orders?page=2", "/oauth/authorize?client_id=x&redirect_uri=y"]
)
async def test_sign_in_still_returns_to_local_pages(client, account, target):
    page = await client.get("/account/login?next=" + quote(target, safe=""))
    response = await client.post(
        "/account/login",
        data={
            "email": account,
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_from(await page.text()),
        },
        allow_redirects=False,
    )
    assert response.headers["Location"] == target
