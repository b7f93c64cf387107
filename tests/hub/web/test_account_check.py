"""The store takes a person's access back (a password reset, or "revoke" on the store's
account page): their hub sessions and offline credential end at the hub's next check.
An unreachable store ends nothing, and concurrent requests never spend one refresh token
twice (the store would revoke the whole family)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from hub.web.auth.const import KNOWN_USER_COOKIE
from hub.web.keys import OIDC_KEY, USERS_KEY
from tests.hub.web.linked_home import LinkedHome, linked_home_factory  # noqa: F401

STORE_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _signed_in_owner(home: LinkedHome, unique_id: str):
    person = await home.person(f"owner-{unique_id}@example.org")
    browser = await home.browser()
    await home.link(browser, person)
    assert (await home.sign_in(browser, person)).status == 303
    return person, browser


async def test_sessions_end_when_the_person_revokes_the_hubs_access_at_the_store(
    linked_home_factory: Callable[..., Awaitable[LinkedHome]],  # noqa: F811
    unique_id: str,
) -> None:
    home = await linked_home_factory(account_check_interval=timedelta(0))
    person, browser = await _signed_in_owner(home, unique_id)
    assert (await browser.get("/api/states")).status == 200
    known = next(c.value for c in browser.session.cookie_jar if c.key == KNOWN_USER_COOKIE)

    # At the store, the person revokes the hub's access (what a password reset also does).
    account = await person.http.get("/account")
    hub_client = home.app[OIDC_KEY].client_id
    assert f'data-client-id="{hub_client}"' in account.text
    revoked = await person.http.post(
        "/account/access/revoke",
        data={"client_id": hub_client, "csrf_token": STORE_CSRF.search(account.text).group(1)},  # type: ignore[union-attr]
    )
    assert revoked.status_code == 303

    assert (await browser.get("/api/states")).status == 401
    page = await browser.get("/devices", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"].startswith("/auth/login")
    assert await home.app[USERS_KEY].async_user_for_offline_credential(known) is None

    # Signing in again gives a new grant, and the hub lets the person in again.
    assert (await home.sign_in(browser, person)).status == 303
    assert (await browser.get("/api/states")).status == 200


async def test_concurrent_checks_spend_each_token_once_and_an_unreachable_store_ends_nothing(
    linked_home_factory: Callable[..., Awaitable[LinkedHome]],  # noqa: F811
    unique_id: str,
) -> None:
    home = await linked_home_factory(account_check_interval=timedelta(0))
    _person, browser = await _signed_in_owner(home, unique_id)
    answers = await asyncio.gather(*(browser.get("/api/states") for _ in range(8)))
    assert [a.status for a in answers] == [200] * 8
    # Had two of them spent the same refresh token, the store would have revoked the family
    # and this check would sign the person out.
    assert (await browser.get("/api/states")).status == 200

    await home.store_client.server.close()  # the store goes away
    assert (await browser.get("/api/states")).status == 200
    assert (await browser.get("/devices")).status == 200
