"""Queue mail inside the caller's transaction, so mail and the change it reports commit together."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db import insert_values, row_values
from cloud.mail.models import OutgoingMail

# Marks a session whose transaction queued mail, so only those commits wake the dispatcher.
_MAIL_QUEUED = "ethos.mail_queued"


def queue_mail(session: AsyncSession, recipient: str, subject: str, body: str) -> OutgoingMail:
    """Add a mail to the outbox; the dispatcher delivers it after the transaction commits."""
    mail = OutgoingMail(recipient=recipient, subject=subject, body=body)
    session.add(mail)
    session.info[_MAIL_QUEUED] = True
    return mail


async def async_queue_mail(session: AsyncSession, recipient: str, subject: str, body: str) -> None:
    """`queue_mail` as a Core INSERT, for hot paths (the ORM's flush costs more than it)."""
    await insert_values(
        session,
        OutgoingMail,
        row_values(OutgoingMail, recipient=recipient, subject=subject, body=body),
    )
    session.info[_MAIL_QUEUED] = True


def queued_mail(session: AsyncSession) -> bool:
    """Whether this session queued mail (a committed transaction then needs delivering)."""
    return bool(session.info.get(_MAIL_QUEUED))
