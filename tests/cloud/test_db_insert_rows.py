"""`insert_rows`: hot paths' Core INSERTs keep what the ORM would have written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from cloud import db
from cloud.inventory.models import Ownership
from cloud.mail.models import OutgoingMail
from cloud.payments.models import InvoiceEvent, ProcessedDelivery, WebhookReceipt
from cloud.shipping.models import ShippingAddress
from tests.conftest import DatabaseTarget


async def test_rows_get_database_ids_and_keep_their_defaults(
    migrated_database: DatabaseTarget,
) -> None:
    engine = db.create_engine(migrated_database.url, migrated_database.schema)
    try:
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


async def test_a_duplicate_key_fails_the_whole_transaction(
    migrated_database: DatabaseTarget,
) -> None:
    engine = db.create_engine(migrated_database.url, migrated_database.schema)
    try:
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


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (OutgoingMail, {"recipient": "a@example.org", "subject": "S", "body": "B"}),
        (ProcessedDelivery, {"delivery_id": "d-1", "invoice_id": "inv-1", "event_type": "X"}),
        (Ownership, {"unit_id": 7, "order_id": "o-1", "user_id": None, "email": "a@b.example"}),
        (InvoiceEvent, {"invoice_id": "inv-1", "source": "webhook", "outcome": "paid"}),
        (WebhookReceipt, {"verified": True, "http_status": 200, "outcome": "paid", "body": "{}"}),
        (ShippingAddress, {"order_id": "o-1", "sealed": "v1:x"}),
    ],
)
def test_row_values_are_what_the_model_would_hold(model: Any, values: dict[str, Any]) -> None:
    built = model(**values).model_dump()
    made = db.row_values(model, **values)
    assert made.keys() == built.keys()
    for key, value in made.items():
        if isinstance(value, datetime):  # default factories: both now, both aware UTC
            assert value.tzinfo == UTC and abs(value - built[key]) < timedelta(seconds=5)
        else:
            assert value == built[key], key


async def test_inserted_values_read_back_like_inserted_rows(
    migrated_database: DatabaseTarget,
) -> None:
    engine = db.create_engine(migrated_database.url, migrated_database.schema)
    try:
        sessions = db.session_factory(engine)
        values = [
            db.row_values(OutgoingMail, recipient=f"{n}@example.org", subject="S", body="B")
            for n in range(2)
        ]
        async with sessions() as session, session.begin():
            await db.insert_values(session, OutgoingMail, *values)
        async with sessions() as session:
            mails = list(await session.scalars(select(OutgoingMail).order_by(col(OutgoingMail.id))))
    finally:
        await engine.dispose()
    assert [m.recipient for m in mails] == ["0@example.org", "1@example.org"]
    assert mails[0].id is not None and mails[0].attempts == 0 and mails[0].sent_at is None
    assert mails[0].created_at == values[0]["created_at"] and mails[0].created_at.tzinfo == UTC
