"""Deliver queued mail: to an SMTP server (`SMTP_URL`) or, unset, as .eml files in an outbox.

Runs as a once-only job: one replica at a time, under its lease (cloud/ops/leases.py).
Work is also claimed row by row with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so even an
old holder that resumes cannot send a mail another replica is sending; a failed delivery
is retried with growing waits.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from cloud.db import utcnow
from cloud.mail.models import OutgoingMail
from ethos.tasks import async_wait_event

_LOGGER = logging.getLogger(__name__)

POLL_INTERVAL_S = 5.0
MAX_ATTEMPTS = 8
BATCH_SIZE = 20
_LINK = re.compile(r"https?://\S+")


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    # One id per queued mail (not per attempt): a repeated send is recognisably the same.
    message["Message-ID"] = f"<outgoing-{mail.id}.{mail.created_at:%Y%m%d%H%M%S%f}@ethos.local>"
    message.set_content(mail.body)
    return message


class SmtpTransport:
    """Send through `smtp://[user:pass@]host:port` (STARTTLS when offered) or `smtps://`."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._tls = parts.scheme == "smtps"
        self._port = parts.port or (465 if self._tls else 25)
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None

    async def async_send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self._host,
            port=self._port,
            use_tls=self._tls,
            start_tls=None if not self._tls else False,
            username=self._username,
            password=self._password,
            timeout=15,
        )


class OutboxTransport:
    """Development transport: each message becomes an .eml file; links are logged."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def async_send(self, message: EmailMessage) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{message['To']}.eml".replace("/", "_")
        path = self._directory / name
        await asyncio.to_thread(path.write_bytes, bytes(message))
        links = _LINK.findall(message.get_content())
        _LOGGER.info("mail to %s written to %s; links: %s", message["To"], path, " ".join(links))


class MailDispatcher:
    """Background delivery of the outbox table."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        transport: SmtpTransport | OutboxTransport,
        sender: str,
    ) -> None:
        self._sessions = sessions
        self._transport = transport
        self._sender = sender
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called after a transaction that queued mail commits: deliver now, not at next poll."""
        self._wake.set()

    async def async_run(self) -> None:
        while True:
            try:
                while await self.async_deliver_due():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("mail delivery pass failed; retrying at next poll")
            await async_wait_event(self._wake, POLL_INTERVAL_S)
            self._wake.clear()

    async def async_deliver_due(self) -> int:
        """Deliver up to one batch of due mail, each in its own transaction; return how
        many rows were handled.

        Each mail is locked, sent and marked sent in one short transaction, committed at
        once: a replica killed mid-batch leaves only the one mail whose send it had not yet
        recorded, not the whole batch, to be sent again by the replica taking over. (That
        last gap, between the SMTP server's acceptance and the commit, cannot close; the
        repeat carries the same Message-ID, which receiving systems recognise.)
        """
        handled = 0
        for _ in range(BATCH_SIZE):
            async with self._sessions() as session, session.begin():
                mail = (
                    await session.scalars(
                        select(OutgoingMail)
                        .where(col(OutgoingMail.sent_at).is_(None))
                        .where(col(OutgoingMail.next_attempt_at) <= utcnow())
                        .where(col(OutgoingMail.attempts) < MAX_ATTEMPTS)
                        .order_by(col(OutgoingMail.id))
                        .limit(1)
                        .with_for_update(skip_locked=True)
                    )
                ).first()
                if mail is None:
                    break
                await self._async_deliver_one(mail)
            handled += 1
        return handled

    async def _async_deliver_one(self, mail: OutgoingMail) -> None:
        mail.attempts += 1
        try:
            await self._transport.async_send(build_message(mail, self._sender))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as err:
            wait = timedelta(seconds=min(30 * 2 ** (mail.attempts - 1), 3600))
            mail.next_attempt_at = utcnow() + wait
            mail.last_error = f"{type(err).__name__}: {err}"[:500]
            _LOGGER.warning(
                "mail %s to %s failed (attempt %s): %s", mail.id, mail.recipient, mail.attempts, err
            )
            return
        mail.sent_at = utcnow()
        mail.last_error = None
        _LOGGER.debug("mail %s delivered to %s", mail.id, mail.recipient)
