"""Shipping tables: each order's address, sealed at rest and erased after delivery."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from cloud.db import UTCDateTime, utcnow


class ShippingAddress(SQLModel, table=True):
    """Where an order goes. `sealed` is AES-GCM over the address's JSON, bound to the order
    id (see cloud/shipping/address.py); None once erased."""

    __tablename__ = "shipping_addresses"

    order_id: str = Field(primary_key=True, max_length=32, foreign_key="orders.id")
    sealed: str | None = Field(default=None, sa_column=Column(Text))
    # Set on delivery: from then on the housekeeping job erases the address.
    erase_after: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
