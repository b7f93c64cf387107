"""Password reset by mail and password change on the account page.

Either one ends every other way into the account: web sessions, OAuth token families
(hubs and apps sign in again) with their pending codes, and every link mailed before.
The caller signs the person who just set the password in again with a fresh session.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts import mails, throttle
from cloud.accounts.hooks import AccountHooks
from cloud.accounts.models import User, WebSession
from cloud.accounts.service import (
    PURPOSE_RESET,
    THROTTLED,
    Links,
    TokenProblem,
    check_new_password,
    complete_account,
    end_email_links,
    find_user,
    issue_token,
    normalise_email,
    spend_link,
    usable_link,
)
from cloud.db import utcnow
from cloud.domain import Refusal
from cloud.mail.outbox import queue_mail
from cloud.oauth.revocation import revoke_all_for_user
from cloud.security import hash_password, verify_password

_LOGGER = logging.getLogger(__name__)

WRONG_CURRENT_PASSWORD = Refusal(
    "wrong_current_password", "That is not your current password.", 401
)


async def end_every_way_in(session: AsyncSession, user_id: int) -> None:
    """Sign the account out everywhere and void what could sign it in again."""
    await session.execute(delete(WebSession).where(col(WebSession.user_id) == user_id))
    await revoke_all_for_user(session, user_id)
    await end_email_links(session, user_id)


async def _set_password(session: AsyncSession, user: User, password: str) -> None:
    assert user.id is not None
    user.password_hash = await hash_password(password)
    user.password_changed_at = utcnow()
    await end_every_way_in(session, user.id)
    await throttle.forget(session, throttle.account_key(user.email))
    queue_mail(session, user.email, *mails.password_changed())
    _LOGGER.info("account %s: password set, every session and token ended", user.id)


async def request_password_reset(session: AsyncSession, links: Links, email: str) -> None:
    email = normalise_email(email)
    user = await find_user(session, email)
    if user is None:
        queue_mail(session, email, *mails.reset_unknown_address(links.page("/account/signup")))
        return
    assert user.id is not None
    token = await issue_token(session, user.id, PURPOSE_RESET)
    queue_mail(session, email, *mails.reset_password(links.reset(token)))


async def reset_password(
    session: AsyncSession, raw_token: str, new_password: str, hooks: AccountHooks
) -> tuple[User | None, TokenProblem | None]:
    """Set a new password from a reset link (InputErrors if the password is unusable)."""
    link, problem = await usable_link(session, raw_token, PURPOSE_RESET)
    if link is None:
        return None, problem
    await check_new_password(new_password, link.user.email)
    if not await spend_link(session, link):
        return None, TokenProblem("used", link.user.email)
    user = link.user
    await _set_password(session, user, new_password)
    # The person holding the mailbox chose this password: what confirmation proves.
    await complete_account(session, user, hooks)
    return user, None


async def change_password(
    session: AsyncSession, user_id: int, current: str, new_password: str, address: str
) -> tuple[Refusal | None, datetime | None]:
    """Replace the password of a signed-in account, given its current one.

    Wrong current passwords count like failed sign-ins (same throttle, same counters), so
    a borrowed session cannot be used to guess the password. Returns (None, None) on
    success, else the refusal and, while blocked, until when.
    """
    user = await session.get(User, user_id)
    if user is None:
        return WRONG_CURRENT_PASSWORD, None
    await check_new_password(new_password, user.email)
    keys = throttle.password_keys(user.email, address)
    if (until := await throttle.blocked_until(session, keys)) is not None:
        return THROTTLED, until
    if not await verify_password(user.password_hash, current or ""):
        await throttle.record_password_failure(session, keys)
        return WRONG_CURRENT_PASSWORD, None
    await _set_password(session, user, new_password)
    return None, None
