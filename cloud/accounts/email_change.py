"""Changing an account's email address: asked with the current password, confirmed from
the new mailbox by a link, and told to the old one. Until the link is opened, the old
address stays the account's.

Whether the new address already has an account is never revealed to the asker: the new
mailbox is told instead, and the answer on the page is the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.accounts import mails, throttle
from cloud.accounts.hooks import AccountHooks
from cloud.accounts.models import User
from cloud.accounts.passwords import WRONG_CURRENT_PASSWORD
from cloud.accounts.service import (
    THROTTLED,
    Links,
    TokenProblem,
    end_email_links,
    find_user,
    issue_token,
    normalise_email,
    spend_link,
    usable_link,
)
from cloud.domain import InputErrors, Refusal
from cloud.mail.outbox import queue_mail
from cloud.security import verify_password

_LOGGER = logging.getLogger(__name__)

PURPOSE_EMAIL = "email"
CONFIRM_PATH = "/account/email/confirm"
ADDRESS_TAKEN = Refusal(
    "address_taken",
    "That address has an account of its own by now, so this one keeps its address.",
    409,
)


async def request_email_change(
    session: AsyncSession, links: Links, user_id: int, new_email: str, password: str, address: str
) -> tuple[Refusal | None, datetime | None]:
    """Mail a confirmation link to the new address and a notice to the old one.

    InputErrors for an unusable or unchanged address; wrong passwords count like failed
    sign-ins. Returns (None, None) once mailed, else the refusal and, if blocked, until when.
    """
    user = await session.get(User, user_id)
    if user is None or user.id is None:
        return WRONG_CURRENT_PASSWORD, None
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise InputErrors({"email": "That is already your address."})
    keys = throttle.password_keys(user.email, address)
    if (until := await throttle.blocked_until(session, keys)) is not None:
        return THROTTLED, until
    if not await verify_password(user.password_hash, password or ""):
        await throttle.record_password_failure(session, keys)
        return WRONG_CURRENT_PASSWORD, None
    if await find_user(session, new_email) is not None:
        queue_mail(session, new_email, *mails.new_address_taken(links.page("/account/login")))
    else:
        token = await issue_token(session, user.id, PURPOSE_EMAIL, new_email=new_email)
        queue_mail(
            session,
            new_email,
            *mails.confirm_new_address(links.page(f"{CONFIRM_PATH}?token={token}"), user.email),
        )
    queue_mail(session, user.email, *mails.address_change_requested(new_email))
    _LOGGER.info("account %s asked for a new address", user.id)
    return None, None


@dataclass(frozen=True)
class PendingChange:
    old: str
    new: str


async def check_email_change(
    session: AsyncSession, raw_token: str
) -> tuple[PendingChange | None, TokenProblem | None]:
    """What a change link would do, without using it up (mail scanners open links)."""
    link, problem = await usable_link(session, raw_token, PURPOSE_EMAIL)
    if link is None:
        return None, problem
    assert link.row.new_email is not None
    return PendingChange(link.user.email, link.row.new_email), None


async def confirm_email_change(
    session: AsyncSession, raw_token: str, hooks: AccountHooks
) -> tuple[User | None, TokenProblem | Refusal | None]:
    """Move the account to the link's address: every other link dies, the old address is
    told, other areas follow (orders mail the new address)."""
    link, problem = await usable_link(session, raw_token, PURPOSE_EMAIL)
    if link is None:
        return None, problem
    user, new_email = link.user, link.row.new_email
    assert user.id is not None and new_email is not None
    if not await spend_link(session, link):
        return None, TokenProblem("used", user.email)
    old_email = user.email
    try:
        async with session.begin_nested():
            user.email = new_email
            await session.flush()
    except IntegrityError:  # someone signed up with the address since the link was sent
        return None, ADDRESS_TAKEN
    await end_email_links(session, user.id)
    await throttle.forget(session, throttle.account_key(old_email))
    await hooks.account_email_changed(session, user.id, old_email, new_email)
    queue_mail(session, old_email, *mails.address_changed(new_email))
    _LOGGER.info("account %s moved to its new address", user.id)
    return user, None
