"""Payments tables: webhook deliveries already processed (for de-duplication)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cloud.db import UTCDateTime, utcnow


class ProcessedDelivery(SQLModel, table=True):
    """A BTCPay delivery (its original id for redeliveries) that has been acted on."""

    __tablename__ = "btcpay_deliveries"

    delivery_id: str = Field(primary_key=True, max_length=64)
    invoice_id: str | None = Field(default=None, max_length=64)
    event_type: str = Field(max_length=48)
    processed_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
