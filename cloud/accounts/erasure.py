"""The account's own personal data (the user row, sessions, mailed links, sign-in throttles,
mail sent to the address) and the two operations over every area's: export and delete.

Deleting is Execute / CanExecute: :func:`can_delete_account` says why not (a payment in
flight, a refund owed), :func:`delete_account` checks the password again, then erases
everything in one transaction, so a failure leaves the account whole.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts import throttle
from cloud.accounts.models import EmailToken, LoginThrottle, User, WebSession
from cloud.accounts.personal_data import (
    DataSubject,
    PersonalDataHolder,
    PersonalDataRegistry,
    iso,
    plural,
)
from cloud.accounts.service import THROTTLED
from cloud.domain import Refusal
from cloud.mail.models import OutgoingMail
from cloud.security import verify_password

_LOGGER = logging.getLogger(__name__)

WRONG_PASSWORD = Refusal("wrong_password", "That is not your password.", 401)
NO_ACCOUNT = Refusal("no_account", "That account no longer exists.", 404)


async def _sessions(session: AsyncSession, user_id: int) -> list[WebSession]:
    return list(
        await session.scalars(
            select(WebSession)
            .where(col(WebSession.user_id) == user_id)
            .order_by(col(WebSession.created_at))
        )
    )


def _mail_to(email: str) -> Any:
    return func.lower(col(OutgoingMail.recipient)) == email.lower()


def _throttle_keys(subject: DataSubject) -> list[str]:
    return [throttle.account_key(subject.email)]


async def export_account(session: AsyncSession, subject: DataSubject) -> dict[str, Any]:
    user = await session.get(User, subject.user_id)
    if user is None:
        return {}
    links = await session.scalars(
        select(EmailToken)
        .where(col(EmailToken.user_id) == subject.user_id)
        .order_by(col(EmailToken.created_at))
    )
    mails = await session.scalars(
        select(OutgoingMail).where(_mail_to(subject.email)).order_by(col(OutgoingMail.id))
    )
    return {
        "id": user.id,
        "email": user.email,
        "confirmed": user.confirmed,
        "created_at": iso(user.created_at),
        "confirmed_at": iso(user.confirmed_at),
        "password_changed_at": iso(user.password_changed_at),
        # The password is kept only as a one-way hash: not exported, it says nothing.
        "sessions": [
            {"created_at": iso(row.created_at), "expires_at": iso(row.expires_at)}
            for row in await _sessions(session, subject.user_id)
        ],
        "mailed_links": [
            {
                "purpose": row.purpose,
                "created_at": iso(row.created_at),
                "expires_at": iso(row.expires_at),
                "used_at": iso(row.used_at),
            }
            for row in links
        ],
        "mails": [
            {
                "subject": mail.subject,
                "queued_at": iso(mail.created_at),
                "sent_at": iso(mail.sent_at),
            }
            for mail in mails
        ],
    }


async def preview_account(session: AsyncSession, subject: DataSubject) -> list[str]:
    sessions = len(await _sessions(session, subject.user_id))
    return [
        f"You are signed out everywhere: {plural(sessions, 'session')} ended, every link we "
        "mailed you stops working.",
        "The mails we keep that were sent to your address are deleted.",
        f"Your account {subject.email} and its password are deleted: you cannot sign in "
        "again, and the address can be used for a new account.",
    ]


async def erase_account(session: AsyncSession, subject: DataSubject) -> None:
    await session.execute(delete(WebSession).where(col(WebSession.user_id) == subject.user_id))
    await session.execute(delete(EmailToken).where(col(EmailToken.user_id) == subject.user_id))
    await session.execute(
        delete(LoginThrottle).where(col(LoginThrottle.key).in_(_throttle_keys(subject)))
    )
    await session.execute(delete(OutgoingMail).where(_mail_to(subject.email)))
    await session.execute(delete(User).where(col(User.id) == subject.user_id))


ACCOUNT_HOLDER = PersonalDataHolder(
    section="account",
    columns=frozenset(
        {
            "users.email",
            "web_sessions.user_id",
            "email_tokens.user_id",
            "email_tokens.new_email",
            "login_throttles.key",
            "outgoing_mail.recipient",
        }
    ),
    export=export_account,
    preview=preview_account,
    erase=erase_account,
)


def subject_of(user: User) -> DataSubject:
    assert user.id is not None
    return DataSubject(user.id, user.email)


async def can_delete_account(
    session: AsyncSession, registry: PersonalDataRegistry, subject: DataSubject
) -> list[Refusal]:
    """Why the account cannot be deleted now (empty list: it can); changes nothing."""
    return await registry.refusals(session, subject)


async def delete_account(
    session: AsyncSession,
    registry: PersonalDataRegistry,
    user_id: int,
    password: str,
    address: str,
) -> tuple[Refusal | None, datetime | None]:
    """Erase the account and every area's personal data about it, given its password.

    Wrong passwords count like failed sign-ins (a borrowed session cannot guess it). Returns
    (None, None) once erased; else the refusal and, while blocked, until when.
    """
    user = await session.get(User, user_id)
    if user is None:
        return NO_ACCOUNT, None
    subject = subject_of(user)
    keys = throttle.password_keys(user.email, address)
    if (until := await throttle.blocked_until(session, keys)) is not None:
        return THROTTLED, until
    if not await verify_password(user.password_hash, password or ""):
        await throttle.record_password_failure(session, keys)
        return WRONG_PASSWORD, None
    refusals = await registry.refusals(session, subject)
    if refusals:
        return refusals[0], None
    session.expunge(user)
    await registry.erase(session, subject)
    _LOGGER.info("account %s deleted", user_id)
    return None, None
