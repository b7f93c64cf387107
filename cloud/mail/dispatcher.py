"""Deliver queued mail: to an SMTP server (`SMTP_URL`) or, unset, as .eml files in an outbox.

Runs as a once-only job: one replica at a time, under its lease (cloud/ops/leases.py).
Work is also claimed in small batches (rows picked with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, then leased for `CLAIM_TIME`), so even an old holder that resumes cannot send
a mail another replica is sending; a failed delivery is retried with growing waits.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from cloud.db import utcnow
from cloud.db_statements import async_run
from cloud.files import write_bytes_atomically
from cloud.mail.letters import Letter, compose
from cloud.mail.models import OutgoingMail
from ethos.tasks import async_wait_event

_LOGGER = logging.getLogger(__name__)

POLL_INTERVAL_S = 5.0
MAX_ATTEMPTS = 8
BATCH_SIZE = 5
SMTP_TIMEOUT_S = 15
# How long a claimed mail is its sender's alone: longer than one send can take. The
# batch's unsent mails are claimed again each time a send is recorded, so a sender that
# dies leaves them to the next holder this long after its last send (not after the time
# the whole batch could take: a confirmation mail waited two minutes).
CLAIM_TIME = timedelta(seconds=SMTP_TIMEOUT_S + 30)
_DUE_MAIL = (
    select(OutgoingMail)
    .where(
        col(OutgoingMail.sent_at).is_(None),
        col(OutgoingMail.next_attempt_at) <= bindparam("b_now"),
        col(OutgoingMail.attempts) < MAX_ATTEMPTS,
    )
    .order_by(col(OutgoingMail.id))
    .limit(BATCH_SIZE)
    .with_for_update(skip_locked=True)
)
# Core statements on the table (the ORM's handling of an entity UPDATE cost more CPU
# than the statement, once per mail).
_MAILS: Table = OutgoingMail.__table__  # type: ignore[attr-defined]
_CLAIM_MAIL = (
    update(_MAILS)
    .where(_MAILS.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(attempts=_MAILS.c.attempts + 1, next_attempt_at=bindparam("b_until"))
)
_EXTEND_CLAIM = (
    update(_MAILS)
    .where(_MAILS.c.id.in_(bindparam("b_ids", expanding=True)), _MAILS.c.sent_at.is_(None))
    .values(next_attempt_at=bindparam("b_until"))
)
_RECORD_SENT = (
    update(_MAILS)
    .where(_MAILS.c.id == bindparam("b_id"))
    .values(sent_at=bindparam("b_sent"), last_error=None)
)
_LINK = re.compile(r"https?://\S+")


class SmtpTransport:
    """Send through `smtp://[user:pass@]host:port` (STARTTLS when offered) or `smtps://`."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._tls = parts.scheme == "smtps"
        self._port = parts.port or (465 if self._tls else 25)
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None

    async def async_send(self, letter: Letter) -> None:
        await aiosmtplib.send(
            letter.content,
            sender=letter.sender,
            recipients=[letter.recipient],
            hostname=self._host,
            port=self._port,
            use_tls=self._tls,
            start_tls=None if not self._tls else False,
            username=self._username,
            password=self._password,
            timeout=SMTP_TIMEOUT_S,
        )


class OutboxTransport:
    """Development transport: each message becomes an .eml file; links are logged."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def async_send(self, letter: Letter) -> None:
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{letter.recipient}.eml".replace("/", "_")
        path = self._directory / name
        content = letter.content if isinstance(letter.content, bytes) else bytes(letter.content)
        # A reader of the outbox (a developer, the demo, a test) never sees half a mail.
        await asyncio.to_thread(write_bytes_atomically, path, content)
        if _LOGGER.isEnabledFor(logging.INFO):
            links = " ".join(_LINK.findall(letter.text))
            _LOGGER.info("mail to %s written to %s; links: %s", letter.recipient, path, links)


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
                # A short batch was all that was due; mail queued since wakes us again.
                while await self.async_deliver_due() == BATCH_SIZE:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("mail delivery pass failed; retrying at next poll")
            await async_wait_event(self._wake, POLL_INTERVAL_S)
            self._wake.clear()

    async def async_deliver_due(self) -> int:
        """Deliver up to one batch of due mail; return how many rows were handled.

        The batch is claimed in one short transaction (each row's attempt counted and its
        next attempt pushed `CLAIM_SECONDS` ahead, so no other replica takes it), then each
        mail is sent with no transaction or connection held (SQLite has one connection for
        the whole store: a send must not stop every request), and marked sent in its own
        transaction right after the server accepted it, which also claims the batch's
        unsent mail again. A replica killed mid-batch leaves its unsent claims to the next
        holder once they lapse, `CLAIM_TIME` after its last send; only the mail whose send it
        had not yet recorded goes out twice, with the same Message-ID, which receiving
        systems recognise. A sender stopped cleanly (lease handed over) gives back what it
        had not sent at once.
        """
        claimed = await self._async_claim()
        pending = {mail.id: mail for mail in claimed}
        try:
            for mail in claimed:
                del pending[mail.id]
                await self._async_deliver_one(mail, list(pending))
        except asyncio.CancelledError:
            await self._async_release([mail.id, *pending])
            raise
        return len(claimed)

    async def _async_claim(self) -> list[OutgoingMail]:
        now = utcnow()
        async with self._sessions() as session, session.begin():
            mails = list(await session.scalars(_DUE_MAIL, {"b_now": now}))
            if mails:
                await session.execute(
                    _CLAIM_MAIL,
                    {"b_ids": [mail.id for mail in mails], "b_until": now + CLAIM_TIME},
                )
        for mail in mails:
            mail.attempts += 1
        return mails

    async def _async_release(self, mail_ids: list[int | None]) -> None:
        """Best effort on shutdown: unsent claimed mail is due again at once."""
        if not mail_ids:
            return
        try:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    update(OutgoingMail)
                    .where(col(OutgoingMail.id).in_(mail_ids), col(OutgoingMail.sent_at).is_(None))
                    .values(next_attempt_at=utcnow(), attempts=OutgoingMail.attempts - 1)
                    .execution_options(synchronize_session=False)
                )
        except Exception:  # the claims lapse by themselves
            _LOGGER.warning("mail: %d claimed mails not given back", len(mail_ids))

    async def _async_deliver_one(self, mail: OutgoingMail, unsent: list[int | None]) -> None:
        """Send `mail`, record how it went and claim the batch's `unsent` mail again."""
        try:
            await self._transport.async_send(compose(mail, self._sender))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as err:
            wait = timedelta(seconds=min(30 * 2 ** (mail.attempts - 1), 3600))
            error = f"{type(err).__name__}: {err}"[:500]
            await self._async_record(
                mail, unsent, next_attempt_at=utcnow() + wait, last_error=error
            )
            _LOGGER.warning(
                "mail %s to %s failed (attempt %s): %s", mail.id, mail.recipient, mail.attempts, err
            )
            return
        async with self._sessions() as session, session.begin():
            await async_run(session, _RECORD_SENT, {"b_id": mail.id, "b_sent": utcnow()})
            await self._async_extend_claim(session, unsent)
        _LOGGER.debug("mail %s delivered to %s", mail.id, mail.recipient)

    async def _async_record(
        self, mail: OutgoingMail, unsent: list[int | None], **values: object
    ) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(OutgoingMail)
                .where(col(OutgoingMail.id) == mail.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await self._async_extend_claim(session, unsent)

    @staticmethod
    async def _async_extend_claim(session: AsyncSession, unsent: list[int | None]) -> None:
        if unsent:
            await session.execute(
                _EXTEND_CLAIM, {"b_ids": unsent, "b_until": utcnow() + CLAIM_TIME}
            )
