"""Who owns the hub through its link, against the real store: the code is shown only to
the browser that started linking, only the owner may link again, the account that
approves owns the hub (the previous owner becomes a member), and signed-out pages name
no account."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.hub.web.linked_home import USER_CODE, LinkedHome, linked_home_factory  # noqa: F401


@pytest.fixture
async def home(
    linked_home_factory: Callable[..., Awaitable[LinkedHome]],  # noqa: F811
) -> LinkedHome:
    return await linked_home_factory()


async def test_the_link_code_is_shown_only_to_the_browser_that_started_it(
    home: LinkedHome, unique_id: str
) -> None:
    owner_email = f"owner-{unique_id}@example.org"
    owner = await home.person(owner_email)
    starter, onlooker = await home.browser(), await home.browser()
    assert (await home.start_link(starter)).status == 303
    shown = await (await starter.get("/auth/link")).text()
    assert USER_CODE.search(shown) and 'class="qr"' in shown

    watched = await (await onlooker.get("/auth/link")).text()
    assert not USER_CODE.search(watched) and 'class="qr"' not in watched
    assert 'id="link-elsewhere"' in watched

    linked = await home.approve_link(starter, owner)
    assert owner_email in linked
    assert owner_email not in await (await onlooker.get("/auth/link")).text()


async def test_only_the_owner_may_link_a_linked_hub_again(home: LinkedHome, unique_id: str) -> None:
    owner = await home.person(f"owner-{unique_id}@example.org")
    owner_browser = await home.browser()
    await home.link(owner_browser, owner)

    stranger = await home.browser()  # signed out, with the page's own form token
    assert 'id="link-start"' not in await (await stranger.get("/auth/link")).text()
    refused = await home.start_link(stranger)
    assert refused.status == 403 and "only its owner" in await refused.text()

    assert (await home.sign_in(owner_browser, owner)).status == 303
    member_email = f"member-{unique_id}@example.org"
    await owner_browser.post(
        "/users/invitations",
        data={"csrf": await home.csrf(owner_browser), "email": member_email},
    )
    member_browser = await home.browser()
    assert (await home.sign_in(member_browser, await home.person(member_email))).status == 303
    assert (await home.start_link(member_browser)).status == 403

    page = await (await owner_browser.get("/auth/link")).text()
    assert 'id="link-start"' in page and "Link again" in page
    assert (await home.start_link(owner_browser)).status == 303


async def test_linking_to_another_account_makes_the_previous_owner_a_member(
    home: LinkedHome, unique_id: str
) -> None:
    first = await home.person(f"first-{unique_id}@example.org")
    browser = await home.browser()
    await home.link(browser, first)
    assert (await home.sign_in(browser, first)).status == 303
    assert "· owner" in await (await browser.get("/devices")).text()

    second_email = f"second-{unique_id}@example.org"
    second = await home.person(second_email)
    relinked = await home.link(browser, second)  # the owner links again; another approves
    assert second_email in relinked
    assert "· member" in await (await browser.get("/devices")).text()
    assert (await browser.get("/users")).status == 403

    other = await home.browser()
    assert (await home.sign_in(other, second)).status == 303
    assert "· owner" in await (await other.get("/devices")).text()


async def test_signed_out_pages_name_no_account(home: LinkedHome, unique_id: str) -> None:
    email = f"owner-{unique_id}@example.org"
    owner = await home.person(email)
    await home.link(await home.browser(), owner)
    visitor = await home.browser()
    for path in ("/auth/link", "/auth/login", "/auth/signed-out", "/auth/invite/x", "/healthz"):
        answer = await visitor.get(path, allow_redirects=False)
        assert answer.status < 500, path
        body = await answer.text()
        assert email not in body and f"owner-{unique_id}" not in body, path
