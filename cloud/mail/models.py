"""The outbox table: mail is written in the same transaction as the change it reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from cloud.db import UTCDateTime, utcnow


class OutgoingMail(SQLModel, table=True):
    __tablename__ = "outgoing_mail"

    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(max_length=254)
    subject: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
    attempts: int = Field(default=0)
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
    last_error: str | None = Field(default=None, max_length=500)
