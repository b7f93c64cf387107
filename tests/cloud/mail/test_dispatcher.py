"""The mail sender: a send in progress holds no database connection, a claimed mail is
sent once, by the replica that claimed it, and the mail of a sender that died goes out
soon after."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from cloud.db import utcnow
from cloud.mail import dispatcher
from cloud.mail.dispatcher import CLAIM_TIME, MailDispatcher
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


class OneByOneTransport:
    """Accepts mail; each send waits for its own go-ahead, handed to the test in order."""

    def __init__(self) -> None:
        self.waiting: asyncio.Queue[asyncio.Event] = asyncio.Queue()
        self.sent: list[str] = []

    async def async_send(self, letter: Letter) -> None:
        go = asyncio.Event()
        await self.waiting.put(go)
        await go.wait()
        self.sent.append(letter.recipient)


def _set_clock(monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    """The senders' clock (claims and due times), moved ahead instead of waited for."""
    monkeypatch.setattr(dispatcher, "utcnow", lambda: now)


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


async def test_the_mail_of_a_sender_that_died_goes_out_a_minute_later(
    store_sessions, monkeypatch
) -> None:
    """A replica killed in its first send gives nothing back: its claims lapse by
    themselves. A confirmation mail used to wait the whole batch's claim, two minutes."""
    recipients = ["dead-1@example.org", "dead-2@example.org"]
    for recipient in recipients:
        await _queue(store_sessions, recipient)
    killed = HeldTransport()  # never released: the replica died in this send
    dead = asyncio.create_task(MailDispatcher(store_sessions, killed, SENDER).async_deliver_due())
    await asyncio.wait_for(killed.started.wait(), WAIT_S)

    _set_clock(monkeypatch, utcnow() + timedelta(minutes=1))
    successor = HeldTransport()
    successor.release.set()
    try:
        assert await MailDispatcher(store_sessions, successor, SENDER).async_deliver_due() == 2
    finally:
        dead.cancel()
        with pytest.raises(asyncio.CancelledError):
            await dead
    assert successor.sent == recipients and killed.sent == []


async def test_a_live_sender_keeps_its_batch_while_each_send_takes_its_time(
    store_sessions, monkeypatch
) -> None:
    """Each recorded send claims the batch's unsent mail again: a batch slower than one
    claim is still sent once, by its own sender."""
    recipients = ["slow-1@example.org", "slow-2@example.org"]
    for recipient in recipients:
        await _queue(store_sessions, recipient)
    start = utcnow()
    transport = OneByOneTransport()
    sending = asyncio.create_task(
        MailDispatcher(store_sessions, transport, SENDER).async_deliver_due()
    )
    first = await asyncio.wait_for(transport.waiting.get(), WAIT_S)
    _set_clock(monkeypatch, start + CLAIM_TIME * 2 / 3)  # the first send took that long
    first.set()
    second = await asyncio.wait_for(transport.waiting.get(), WAIT_S)

    _set_clock(monkeypatch, start + CLAIM_TIME * 4 / 3)  # the first claim has lapsed
    other = HeldTransport()
    other.release.set()
    assert await MailDispatcher(store_sessions, other, SENDER).async_deliver_due() == 0
    second.set()
    assert await asyncio.wait_for(sending, WAIT_S) == 2
    assert transport.sent == recipients and other.sent == []
