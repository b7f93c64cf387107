"""Changing the account's address (issue #18, item 8): asked with the current password,
re-confirmed by a link mailed to the new address, the old one told; until the link is
opened the old address stays. Orders follow the account to its new address."""

from __future__ import annotations

from sqlalchemy import select

from cloud.accounts.models import User
from cloud.web.keys import DB
from tests.cloud.common import (
    PASSWORD,
    csrf_from,
    log_in,
    mailed_link,
    sign_up_and_confirm,
    submit_form,
    token_of,
)

OLD, NEW = "ada@example.com", "ada.new@example.com"


async def _address_of(shop, user_id: int) -> str:
    async with shop.app[DB]() as session:
        user = await session.get(User, user_id)
    assert user is not None
    return user.email


async def _user_id(shop, email: str) -> int:
    async with shop.app[DB]() as session:
        user = (await session.scalars(select(User).where(User.email == email))).one()
    assert user.id is not None
    return user.id


async def _ask(client, new: str, password: str = PASSWORD):
    return await submit_form(
        client, "/account/email", "/account/email", {"email": new, "current_password": password}
    )


async def test_the_new_address_counts_once_its_link_is_opened(shop):
    await shop.add_stock("EPD-1", 1)
    await sign_up_and_confirm(shop.client, shop.smtp, OLD)
    order_id = await shop.place_order("EPD-1", 1, email=None)
    user_id = await _user_id(shop, OLD)
    sent_to_old = len(shop.smtp.messages_to(OLD))

    response = await _ask(shop.client, NEW)

    assert response.status == 200 and "We sent a link to ada.new@example.com" in (
        await response.text()
    )
    notice = await shop.smtp.wait_for(OLD, count=sent_to_old + 1)
    assert notice["Subject"] == "A new address was asked for your Ethos account"
    assert NEW in notice.get_content()
    link = await mailed_link(shop.smtp, NEW)
    assert await _address_of(shop, user_id) == OLD  # not before the link is opened

    page = await shop.client.get(link)  # opening the link changes nothing yet
    assert page.status == 200 and await _address_of(shop, user_id) == OLD
    confirmed = await shop.client.post(
        "/account/email/confirm",
        data={"token": token_of(link), "csrf_token": csrf_from(await page.text())},
        allow_redirects=False,
    )

    assert confirmed.status == 303
    assert confirmed.headers["Location"] == "/account?email_changed=1"
    assert await _address_of(shop, user_id) == NEW
    assert (await shop.order(order_id)).email == NEW  # order mail goes to the new address
    told = await shop.smtp.wait_for(OLD, count=sent_to_old + 2)
    assert told["Subject"] == "The address of your Ethos account was changed"
    shop.client.session.cookie_jar.clear()
    assert (await log_in(shop.client, OLD)).status == 401
    assert (await log_in(shop.client, NEW)).status == 200
    # The link works once.
    again = await shop.client.get(link)
    assert again.status == 410


async def test_a_wrong_password_sends_nothing_and_changes_nothing(shop):
    await sign_up_and_confirm(shop.client, shop.smtp, OLD)
    user_id = await _user_id(shop, OLD)

    response = await _ask(shop.client, NEW, password="not my password")

    assert response.status == 401
    assert "That is not your current password." in await response.text()
    assert shop.smtp.messages_to(NEW) == []
    assert await _address_of(shop, user_id) == OLD


async def test_an_address_with_its_own_account_is_not_revealed_nor_taken(shop):
    await sign_up_and_confirm(shop.client, shop.smtp, NEW)
    shop.client.session.cookie_jar.clear()
    await sign_up_and_confirm(shop.client, shop.smtp, OLD)
    user_id = await _user_id(shop, OLD)
    sent_to_new = len(shop.smtp.messages_to(NEW))

    response = await _ask(shop.client, NEW)

    assert response.status == 200 and "We sent a link to" in await response.text()
    mail = await shop.smtp.wait_for(NEW, count=sent_to_new + 1)
    assert mail["Subject"] == "Someone tried to move an Ethos account to your address"
    assert "token=" not in mail.get_content()
    assert await _address_of(shop, user_id) == OLD


async def test_an_unusable_or_unchanged_address_is_refused_on_the_form(shop):
    await sign_up_and_confirm(shop.client, shop.smtp, OLD)

    same = await _ask(shop.client, OLD)
    broken = await _ask(shop.client, "not an address")

    assert same.status == 422 and "That is already your address." in await same.text()
    assert broken.status == 422 and "not a usable email address" in await broken.text()
