"""Shipping: orders gain packed / shipped (carrier, tracking) / delivered; each order's
address is kept sealed in its own table until erased. Stock gains low-stock alerts.

Revision ID: 0007_shipping_stock
Revises: 0006_shop_admin
Create Date: 2026-12-05 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cloud.db

revision = "0007_shipping_stock"
down_revision = "0006_shop_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fulfilment", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("packed_at", cloud.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("shipped_at", cloud.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", cloud.db.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("carrier", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True)
        )
        batch_op.add_column(
            sa.Column("tracking_number", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_orders_fulfilment"), ["fulfilment"], unique=False)
    op.create_table(
        "shipping_addresses",
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=True),
        sa.Column("erase_after", cloud.db.UTCDateTime(), nullable=True),
        sa.Column("erased_at", cloud.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", cloud.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("order_id"),
    )
    with op.batch_alter_table("shipping_addresses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipping_addresses_erase_after"), ["erase_after"], unique=False
        )
    op.create_table(
        "stock_alerts",
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("alerted_at", cloud.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("sku"),
    )


def downgrade() -> None:
    op.drop_table("stock_alerts")
    with op.batch_alter_table("shipping_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipping_addresses_erase_after"))
    op.drop_table("shipping_addresses")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_fulfilment"))
        for column in (
            "tracking_number",
            "carrier",
            "delivered_at",
            "shipped_at",
            "packed_at",
            "fulfilment",
        ):
            batch_op.drop_column(column)
