"""Helpers for driving the store through its public HTTP surface, as a browser would."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from aiohttp.test_utils import TestClient

from tests.support.smtp_sink import MailCatcher

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK_RE = re.compile(r"https?://\S+")
PASSWORD = "correct horse battery"
# The checkout's shipping address fields, filled as a buyer would.
SHIPPING_ADDRESS = {
    "ship_name": "Ada Lovelace",
    "ship_line1": "12 St James's Square",
    "ship_line2": "",
    "ship_postcode": "SW1Y 4JH",
    "ship_city": "London",
    "ship_country": "GB",
}


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


async def submit_form(client: TestClient, page: str, action: str, data: dict[str, str], **kwargs):
    """GET the page holding the form (which sets the CSRF cookie), then POST it."""
    response = await client.get(page)
    token = csrf_from(await response.text())
    return await client.post(action, data={**data, "csrf_token": token}, **kwargs)


def link_path(url: str) -> str:
    """The path and query of a mailed link, to follow it on the test server."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def mailed_link(smtp: MailCatcher, email: str, count: int = 1) -> str:
    message = await smtp.wait_for(email, count=count)
    links = LINK_RE.findall(message.get_content())
    assert links, f"no link in mail {message['Subject']!r}"
    return link_path(links[0])


async def confirm_with_link(client: TestClient, link: str, password: str = PASSWORD, **kwargs):
    """Open a mailed confirmation link, enter the sign-up's password and press its button."""
    return await submit_form(
        client,
        link,
        "/account/confirm",
        {"token": token_of(link), "password": password},
        **kwargs,
    )


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def sign_up(client: TestClient, email: str, password: str = PASSWORD):
    return await submit_form(
        client, "/account/signup", "/account/signup", {"email": email, "password": password}
    )


async def sign_up_and_confirm(
    client: TestClient, smtp: MailCatcher, email: str, password: str = PASSWORD
) -> None:
    """Create and confirm an account; the client ends up signed in."""
    response = await sign_up(client, email, password)
    assert response.status == 200
    link = await mailed_link(smtp, email)
    response = await confirm_with_link(client, link, password)
    assert response.status == 200


async def log_in(client: TestClient, email: str, password: str = PASSWORD):
    return await submit_form(
        client, "/account/login", "/account/login", {"email": email, "password": password}
    )
