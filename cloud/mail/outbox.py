"""Queue mail inside the caller's transaction, so mail and the change it reports commit together."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.mail.models import OutgoingMail


def queue_mail(session: AsyncSession, recipient: str, subject: str, body: str) -> OutgoingMail:
    """Add a mail to the outbox; the dispatcher delivers it after the transaction commits."""
    mail = OutgoingMail(recipient=recipient, subject=subject, body=body)
    session.add(mail)
    return mail
