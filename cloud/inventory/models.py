"""Inventory tables: stock units (with sealed claim secrets) and ownership of sold units."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, text
from sqlmodel import Field, SQLModel

from cloud.db import UTCDateTime, utcnow

# A unit neither held for an order nor sold.
FREE_UNITS_CONDITION = "order_id IS NULL AND sold_at IS NULL"


class StockUnit(SQLModel, table=True):
    """One physical device. `order_id` holds it for an open invoice, or names its buyer's order."""

    __tablename__ = "stock_units"
    # Checkout holds a product's free units in id order: found here, not by walking the
    # product's held and sold units too (migration 0013).
    __table_args__ = (
        Index(
            "ix_stock_units_free",
            "sku",
            "id",
            sqlite_where=text(FREE_UNITS_CONDITION),
            postgresql_where=text(FREE_UNITS_CONDITION),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(max_length=32, unique=True, index=True)
    sku: str = Field(max_length=40, index=True)
    # AES-GCM ciphertext of the 32-byte claim secret, bound to the serial (see sealing.py).
    sealed_claim_secret: str = Field(max_length=200)
    order_id: str | None = Field(default=None, max_length=32, foreign_key="orders.id", index=True)
    sold_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Ownership(SQLModel, table=True):
    """Relates a buyer to a unit. One row per unit at most: a unit is allocated exactly once."""

    __tablename__ = "ownerships"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="stock_units.id", unique=True)
    order_id: str = Field(max_length=32, foreign_key="orders.id", index=True)
    # None for a guest until the buyer's email confirms an account.
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    email: str = Field(max_length=254, index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class StockAlert(SQLModel, table=True):
    """Per product: its own low-stock threshold (None: the store's), and when operators were
    last told it ran low (None: not low since; set again only after stock rose above)."""

    __tablename__ = "stock_alerts"

    sku: str = Field(primary_key=True, max_length=40)
    threshold: int | None = Field(default=None)
    alerted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
