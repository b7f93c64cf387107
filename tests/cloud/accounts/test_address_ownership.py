"""An address belongs to whoever proves it (issue #14, hole 1: pre-account takeover).

Someone signs up first with another person's address and a password of their own. The
owner of the address later signs up too and confirms from their mailbox, which holds
both sign-ups' mails. Only the password of the person who confirms may count, and the
guest orders (with their devices' claim secrets) bought with the address join the
account only then.
"""

from __future__ import annotations

import asyncio

from cloud.accounts.throttle import ACCOUNT_POLICY
from tests.cloud.common import (
    LINK_RE,
    PASSWORD,
    confirm_with_link,
    link_path,
    log_in,
    sign_up,
    submit_form,
)

VICTIM = "victim@example.com"
ATTACKER_PASSWORD = "attacker chose this one"
CONFIRM_SUBJECT = "Confirm your Ethos account"


def _confirmation_links(smtp, email: str) -> list[str]:
    """The confirmation links in the mailbox, oldest first."""
    return [
        link_path(LINK_RE.findall(message.get_content())[0])
        for message in smtp.messages_to(email)
        if message["Subject"] == CONFIRM_SUBJECT
    ]


async def _wait_for_confirmations_in(smtp, email: str, count: int) -> list[str]:
    for _ in range(400):
        links = _confirmation_links(smtp, email)
        if len(links) >= count:
            return links
        await asyncio.sleep(0.025)
    raise AssertionError(f"fewer than {count} confirmation mails to {email}")


async def _wait_for_confirmations(shop, email: str, count: int) -> list[str]:
    return await _wait_for_confirmations_in(shop.smtp, email, count)


async def _paid_guest_order(shop) -> tuple[str, dict[str, str]]:
    stock = await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order(email=VICTIM)
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    shop.client.session.cookie_jar.clear()
    return order_id, stock


async def test_an_earlier_signup_with_someone_elses_address_does_not_take_their_account(
    shop, aiohttp_client
):
    order_id, stock = await _paid_guest_order(shop)
    attacker = await aiohttp_client(shop.client.server)
    victim = shop.client

    assert (await sign_up(attacker, VICTIM, ATTACKER_PASSWORD)).status == 200
    await _wait_for_confirmations(shop, VICTIM, 1)
    assert (await sign_up(victim, VICTIM, PASSWORD)).status == 200
    attackers_link, victims_link = await _wait_for_confirmations(shop, VICTIM, 2)

    # The owner confirms from their own mail, with their own password.
    assert (await confirm_with_link(victim, victims_link, PASSWORD)).status == 200

    # The first sign-up's password does not open the account, and its link is dead.
    assert (await log_in(attacker, VICTIM, ATTACKER_PASSWORD)).status == 401
    assert (await attacker.get(attackers_link)).status == 410
    refused = await confirm_with_link(attacker, attackers_link, ATTACKER_PASSWORD)
    assert refused.status == 410
    assert (await attacker.get("/api/v1/me/devices")).status == 401

    # The owner signs in with their password and owns the guest order and its device.
    victim.session.cookie_jar.clear()
    assert (await log_in(victim, VICTIM, PASSWORD)).status == 200
    devices = await (await victim.get("/api/v1/me/devices")).json()
    assert [device["serial"] for device in devices] == list(stock)
    orders = await (await victim.get("/api/v1/orders")).json()
    assert [order["id"] for order in orders] == [order_id]


async def test_the_other_signups_mail_does_not_confirm_with_the_owners_password(
    shop, aiohttp_client
):
    """The mailbox holds both mails: opening the first sign-up's link (the attacker's)
    with the owner's password confirms nothing and attaches nothing."""
    order_id, _stock = await _paid_guest_order(shop)
    attacker = await aiohttp_client(shop.client.server)
    victim = shop.client
    assert (await sign_up(attacker, VICTIM, ATTACKER_PASSWORD)).status == 200
    await _wait_for_confirmations(shop, VICTIM, 1)
    assert (await sign_up(victim, VICTIM, PASSWORD)).status == 200
    attackers_link, victims_link = await _wait_for_confirmations(shop, VICTIM, 2)

    page = await victim.get(attackers_link)
    assert page.status == 200 and 'name="password"' in await page.text()
    refused = await confirm_with_link(victim, attackers_link, PASSWORD, allow_redirects=False)

    assert refused.status == 401
    assert "not the password chosen with this link" in await refused.text()
    assert (await log_in(attacker, VICTIM, ATTACKER_PASSWORD)).status == 403  # unconfirmed
    assert (await shop.order(order_id)).user_id is None

    # The owner's own mail still works; then the attacker's link is dead.
    assert (await confirm_with_link(victim, victims_link, PASSWORD)).status == 200
    assert (await shop.order(order_id)).user_id is not None
    assert (await confirm_with_link(attacker, attackers_link, ATTACKER_PASSWORD)).status == 410
    assert (await log_in(attacker, VICTIM, ATTACKER_PASSWORD)).status == 401


async def test_a_resent_link_lets_the_mailbox_holder_choose_the_password(shop, aiohttp_client):
    """A resent link carries no sign-up: whoever opens it from the mailbox sets the
    password, so an attacker's earlier sign-up password never counts."""
    attacker = await aiohttp_client(shop.client.server)
    victim = shop.client
    assert (await sign_up(attacker, VICTIM, ATTACKER_PASSWORD)).status == 200
    await _wait_for_confirmations(shop, VICTIM, 1)
    response = await submit_form(victim, "/account/resend", "/account/resend", {"email": VICTIM})
    assert response.status == 200
    _attackers_link, resent_link = await _wait_for_confirmations(shop, VICTIM, 2)

    page = await victim.get(resent_link)
    assert 'autocomplete="new-password"' in await page.text()
    too_short = await confirm_with_link(victim, resent_link, "short")
    assert too_short.status == 422 and 'id="password-error"' in await too_short.text()
    assert (await confirm_with_link(victim, resent_link, PASSWORD)).status == 200

    victim.session.cookie_jar.clear()
    assert (await log_in(attacker, VICTIM, ATTACKER_PASSWORD)).status == 401
    assert (await log_in(victim, VICTIM, PASSWORD)).status == 200


async def test_guessing_a_signups_password_at_its_link_is_throttled_like_sign_in(
    client, smtp_server, unique_id
):
    """Whoever holds a link (a forwarded mail, say) cannot guess the sign-up's password."""
    email = f"guess-{unique_id}@example.org"
    await sign_up(client, email)
    link = (await _wait_for_confirmations_in(smtp_server, email, 1))[0]
    for attempt in range(ACCOUNT_POLICY.slow_after):
        refused = await confirm_with_link(client, link, f"guess number {attempt}")
        assert refused.status == 401
    blocked = await confirm_with_link(client, link, PASSWORD)
    assert blocked.status == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert (await log_in(client, email, PASSWORD)).status == 429  # the same counters
