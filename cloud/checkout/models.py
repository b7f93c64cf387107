"""Checkout tables: orders, their lines and refunds. Money is Numeric (Decimal in Python)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, Index, Numeric, text
from sqlmodel import Field, SQLModel

from cloud.db import UTCDateTime, utcnow


class Order(SQLModel, table=True):
    """An order. Its id is random and unguessable: it is also a guest's link to the order."""

    __tablename__ = "orders"
    # The console's order list pages newest first, alone or by status (cloud/admin/orders.py).
    __table_args__ = (
        Index("ix_orders_created_at_id", "created_at", "id"),
        Index("ix_orders_status_created_at_id", "status", "created_at", "id"),
    )

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
    # Shipping (cloud/shipping): packed, then shipped with tracking, then delivered.
    fulfilment: str | None = Field(default=None, max_length=16, index=True)
    packed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    shipped_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    carrier: str | None = Field(default=None, max_length=60)
    tracking_number: str | None = Field(default=None, max_length=60)
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
    # The console's product filter: the orders holding a SKU.
    __table_args__ = (Index("ix_order_lines_sku_order_id", "sku", "order_id"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=32, foreign_key="orders.id", index=True)
    sku: str = Field(max_length=40)
    name: str = Field(max_length=80)
    unit_price: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    quantity: int


class RefundStatus(StrEnum):
    REQUESTING = "requesting"  # BTCPay is being asked; one at a time per order
    AWAITING_CLAIM = "awaiting_claim"  # the pull payment exists; the buyer has not claimed
    CLAIMED = "claimed"  # the buyer named an address; the payout awaits approval
    APPROVED = "approved"  # approved in BTCPay; the bitcoin is being sent
    PAID = "paid"  # the payout completed


# At most one refund of an order is being requested at a time: a second operator's
# concurrent refund of the same order fails on this index instead of refunding twice.
_ONE_REQUESTING = text("status = 'requesting'")


class Refund(SQLModel, table=True):
    """Money returned to a buyer through a BTCPay pull payment (an invoice refund)."""

    __tablename__ = "refunds"
    __table_args__ = (
        Index(
            "ix_refunds_one_requesting_per_order",
            "order_id",
            unique=True,
            sqlite_where=_ONE_REQUESTING,
            postgresql_where=_ONE_REQUESTING,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=32, foreign_key="orders.id", index=True)
    invoice_id: str = Field(max_length=64)
    status: str = Field(max_length=24)
    variant: str = Field(max_length=16)  # BTCPay's refundVariant
    # What this refund takes off what was paid, in the order's currency.
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    currency: str = Field(max_length=8)
    cancels_order: bool = False
    pull_payment_id: str | None = Field(default=None, max_length=64, unique=True)
    claim_link: str | None = Field(default=None, max_length=500)
    # What BTCPay pays out (bitcoin, or the order's currency for a Custom refund).
    pull_payment_amount: str | None = Field(default=None, max_length=40)
    pull_payment_currency: str | None = Field(default=None, max_length=8)
    payout_id: str | None = Field(default=None, max_length=64)
    payout_state: str | None = Field(default=None, max_length=24)
    operator_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    paid_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
