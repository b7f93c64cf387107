"""`insert_rows`: hot paths' Core INSERTs keep what the ORM would have written."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from cloud import db
from cloud.mail.models import OutgoingMail
from cloud.payments.models import ProcessedDelivery
from tests.conftest import DatabaseTarget


async def test_rows_get_database_ids_and_keep_their_defaults(database: DatabaseTarget) -> None:
    engine = db.create_engine(database.url, database.schema)
    try:
        await db.async_upgrade_to_head(engine)
        sessions = db.session_factory(engine)
        first = OutgoingMail(recipient="a@example.org", subject="One", body="first")
        second = OutgoingMail(recipient="b@example.org", subject="Two", body="second")
        delivery = ProcessedDelivery(delivery_id="d-1", invoice_id="inv-1", event_type="X")
        async with sessions() as session, session.begin():
            await db.insert_rows(session, first, delivery, second)
        async with sessions() as session:
            mails = list(await session.scalars(select(OutgoingMail).order_by(col(OutgoingMail.id))))
            stored = await session.get(ProcessedDelivery, "d-1")
    finally:
        await engine.dispose()
    assert [(m.recipient, m.subject, m.body) for m in mails] == [
        ("a@example.org", "One", "first"),
        ("b@example.org", "Two", "second"),
    ]
    assert all(m.id is not None for m in mails) and mails[0].id != mails[1].id
    # Defaults made in Python (created_at, next_attempt_at, attempts) are written as given.
    assert mails[0].created_at == first.created_at and mails[0].created_at.tzinfo == UTC
    assert mails[0].next_attempt_at == first.next_attempt_at
    assert mails[0].attempts == 0 and mails[0].sent_at is None
    assert stored is not None and stored.processed_at == delivery.processed_at


async def test_a_duplicate_key_fails_the_whole_transaction(database: DatabaseTarget) -> None:
    engine = db.create_engine(database.url, database.schema)
    try:
        await db.async_upgrade_to_head(engine)
        sessions = db.session_factory(engine)
        async with sessions() as session, session.begin():
            await db.insert_rows(session, ProcessedDelivery(delivery_id="d-1", event_type="X"))
        with pytest.raises(IntegrityError):
            async with sessions() as session, session.begin():
                await db.insert_rows(
                    session, OutgoingMail(recipient="a@example.org", subject="S", body="B")
                )
                await db.insert_rows(session, ProcessedDelivery(delivery_id="d-1", event_type="Y"))
        async with sessions() as session:
            kept = list(await session.scalars(select(ProcessedDelivery)))
            mails = list(await session.scalars(select(OutgoingMail)))
    finally:
        await engine.dispose()
    assert [(row.delivery_id, row.event_type) for row in kept] == [("d-1", "X")]
    assert mails == []  # the mail queued in the failed transaction went with it
