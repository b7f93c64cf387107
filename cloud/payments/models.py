"""Payments tables: webhook deliveries already processed (for de-duplication), the log of
every delivery received, and the invoice timeline (webhook deliveries and reconciler reads)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric, Text
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


class WebhookReceipt(SQLModel, table=True):
    """Every delivery that reached `POST /webhooks/btcpay`, verified or not, and its outcome.

    The body is kept (cut to `WEBHOOK_LOG_BODY_BYTES`) so an operator can read what came;
    neither the secret nor the signature header is stored.
    """

    __tablename__ = "btcpay_webhook_log"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
    delivery_id: str | None = Field(default=None, max_length=64)
    original_delivery_id: str | None = Field(default=None, max_length=64)
    webhook_id: str | None = Field(default=None, max_length=64)
    invoice_id: str | None = Field(default=None, max_length=64, index=True)
    event_type: str | None = Field(default=None, max_length=48)
    verified: bool = Field(default=False)
    http_status: int
    outcome: str = Field(max_length=200)
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    body_truncated: bool = Field(default=False)


class InvoiceEvent(SQLModel, table=True):
    """One step of an invoice's timeline: a webhook delivery or a reconciler read, with the
    status BTCPay gave and the amounts known at that moment."""

    __tablename__ = "invoice_events"

    id: int | None = Field(default=None, primary_key=True)
    order_id: str | None = Field(default=None, max_length=32, index=True)
    invoice_id: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    source: str = Field(max_length=16)  # "webhook" or "reconciler"
    event_type: str | None = Field(default=None, max_length=48)
    delivery_id: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=16)
    additional_status: str | None = Field(default=None, max_length=16)
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    currency: str | None = Field(default=None, max_length=8)
    # The payment the event reports (crypto units, as BTCPay sends them), if any.
    payment_value: Decimal | None = Field(default=None, sa_column=Column(Numeric(20, 8)))
    outcome: str | None = Field(default=None, max_length=200)
