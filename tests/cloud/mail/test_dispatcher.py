"""The mail sender: a send in progress holds no database connection, and a claimed mail
is sent once, by the replica that claimed it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from cloud.mail.dispatcher import MailDispatcher
from cloud.mail.letters import Letter
from cloud.mail.models import OutgoingMail
from cloud.mail.outbox import queue_mail

SENDER = "Ethos <no-reply@ethos.local>"
WAIT_S = 10  # a guard against hanging, never a timing assertion


class HeldTransport:
    """Accepts mail, but each send waits until the test lets it through."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.sent: list[str] = []

    async def async_send(self, letter: Letter) -> None:
        self.started.set()
        await self.release.wait()
        self.sent.append(letter.recipient)


async def _queue(store_sessions: async_sessionmaker[AsyncSession], recipient: str) -> None:
    async with store_sessions() as session, session.begin():
        queue_mail(session, recipient, "Subject", "Body")


async def _mail_to(
    store_sessions: async_sessionmaker[AsyncSession], recipient: str
) -> OutgoingMail:
    async with store_sessions() as session:
        mail = await session.scalar(
            select(OutgoingMail).where(col(OutgoingMail.recipient) == recipient)
        )
    assert mail is not None
    return mail


async def test_a_mail_being_sent_leaves_the_database_to_the_store(store_sessions) -> None:
    """On SQLite the store has one connection: a send holding it stopped every request."""
    await _queue(store_sessions, "first@example.org")
    transport = HeldTransport()
    sending = asyncio.create_task(
        MailDispatcher(store_sessions, transport, SENDER).async_deliver_due()
    )
    await asyncio.wait_for(transport.started.wait(), WAIT_S)

    other_work = asyncio.create_task(_queue(store_sessions, "second@example.org"))
    done, _ = await asyncio.wait({other_work}, timeout=WAIT_S)
    transport.release.set()
    assert other_work in done, "a transaction waited for the mail being sent"
    assert await sending == 1
    assert transport.sent == ["first@example.org"]
    first = await _mail_to(store_sessions, "first@example.org")
    assert first.sent_at is not None and first.attempts == 1


async def test_another_sender_leaves_a_claimed_mail_alone(store_sessions) -> None:
    await _queue(store_sessions, "once@example.org")
    held = HeldTransport()
    first = asyncio.create_task(MailDispatcher(store_sessions, held, SENDER).async_deliver_due())
    await asyncio.wait_for(held.started.wait(), WAIT_S)

    other = HeldTransport()
    other.release.set()
    assert await MailDispatcher(store_sessions, other, SENDER).async_deliver_due() == 0
    held.release.set()
    assert await first == 1
    assert held.sent == ["once@example.org"] and other.sent == []


async def test_a_sender_stopped_mid_batch_gives_its_unsent_mail_back(store_sessions) -> None:
    await _queue(store_sessions, "later@example.org")
    held = HeldTransport()
    stopped = asyncio.create_task(MailDispatcher(store_sessions, held, SENDER).async_deliver_due())
    await asyncio.wait_for(held.started.wait(), WAIT_S)
    stopped.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopped

    # The next holder sends it at once, not when the claim would have lapsed.
    successor = HeldTransport()
    successor.release.set()
    assert await MailDispatcher(store_sessions, successor, SENDER).async_deliver_due() == 1
    assert successor.sent == ["later@example.org"]
    mail = await _mail_to(store_sessions, "later@example.org")
    assert mail.sent_at is not None and mail.attempts == 1
