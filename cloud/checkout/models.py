"""Checkout tables: orders and their lines. Money is Numeric (Decimal in Python)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric
from sqlmodel import Field, SQLModel

from cloud.db import UTCDateTime, utcnow


class Order(SQLModel, table=True):
    """An order. Its id is random and unguessable: it is also a guest's link to the order."""

    __tablename__ = "orders"

    id: str = Field(primary_key=True, max_length=32)
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    email: str = Field(max_length=254, index=True)
    status: str = Field(max_length=24, index=True)
    total: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    currency: str = Field(max_length=8)
    # At most one BTCPay invoice per order: set once, by a conditional UPDATE.
    invoice_id: str | None = Field(default=None, max_length=64, unique=True)
    invoice_status: str | None = Field(default=None, max_length=16)
    invoice_additional_status: str | None = Field(default=None, max_length=16)
    checkout_link: str | None = Field(default=None, max_length=500)
    payment_problem: str | None = Field(default=None, max_length=300)
    # While set and in the future, one worker is asking BTCPay for this order's invoice.
    invoice_claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # When the reconciler should next re-read the invoice (None: nothing left to watch).
    next_check_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # The status timeline the buyer sees (created_at above, then these as they happen).
    paid_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Set when the buyer's account was deleted: the order is kept for accounting with the
    # address pseudonymised, and its guest link no longer opens it.
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Bumped by every operator action (cloud/admin/locking.py): a second operator acting on
    # the page they loaded before is refused instead of overwriting the first one's work.
    version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=32, foreign_key="orders.id", index=True)
    sku: str = Field(max_length=40)
    name: str = Field(max_length=80)
    unit_price: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    quantity: int
