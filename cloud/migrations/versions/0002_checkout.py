"""checkout: orders, stock units, ownership, processed BTCPay deliveries

Revision ID: 0002_checkout
Revises: 0001_accounts
Create Date: 2026-11-27 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cloud.db

revision = "0002_checkout"
down_revision = "0001_accounts"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString
_utc = cloud.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "btcpay_deliveries",
        sa.Column("delivery_id", _str(length=64), nullable=False),
        sa.Column("invoice_id", _str(length=64), nullable=True),
        sa.Column("event_type", _str(length=48), nullable=False),
        sa.Column("processed_at", _utc(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id"),
    )
    op.create_table(
        "orders",
        sa.Column("id", _str(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("email", _str(length=254), nullable=False),
        sa.Column("status", _str(length=24), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", _str(length=8), nullable=False),
        sa.Column("invoice_id", _str(length=64), nullable=True),
        sa.Column("invoice_status", _str(length=16), nullable=True),
        sa.Column("invoice_additional_status", _str(length=16), nullable=True),
        sa.Column("checkout_link", _str(length=500), nullable=True),
        sa.Column("payment_problem", _str(length=300), nullable=True),
        sa.Column("invoice_claimed_until", _utc(timezone=True), nullable=True),
        sa.Column("next_check_at", _utc(timezone=True), nullable=True),
        sa.Column("created_at", _utc(timezone=True), nullable=False),
        sa.Column("updated_at", _utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_id"),
    )
    op.create_index(op.f("ix_orders_email"), "orders", ["email"], unique=False)
    op.create_index(op.f("ix_orders_next_check_at"), "orders", ["next_check_at"], unique=False)
    op.create_index(op.f("ix_orders_status"), "orders", ["status"], unique=False)
    op.create_index(op.f("ix_orders_user_id"), "orders", ["user_id"], unique=False)
    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", _str(length=32), nullable=False),
        sa.Column("sku", _str(length=40), nullable=False),
        sa.Column("name", _str(length=80), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_order_lines_order_id"), "order_lines", ["order_id"], unique=False)
    op.create_table(
        "stock_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", _str(length=32), nullable=False),
        sa.Column("sku", _str(length=40), nullable=False),
        sa.Column("sealed_claim_secret", _str(length=200), nullable=False),
        sa.Column("order_id", _str(length=32), nullable=True),
        sa.Column("sold_at", _utc(timezone=True), nullable=True),
        sa.Column("created_at", _utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_stock_units_order_id"), "stock_units", ["order_id"], unique=False)
    op.create_index(op.f("ix_stock_units_serial"), "stock_units", ["serial"], unique=True)
    op.create_index(op.f("ix_stock_units_sku"), "stock_units", ["sku"], unique=False)
    op.create_table(
        "ownerships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("order_id", _str(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("email", _str(length=254), nullable=False),
        sa.Column("created_at", _utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["stock_units.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_id"),
    )
    op.create_index(op.f("ix_ownerships_email"), "ownerships", ["email"], unique=False)
    op.create_index(op.f("ix_ownerships_order_id"), "ownerships", ["order_id"], unique=False)
    op.create_index(op.f("ix_ownerships_user_id"), "ownerships", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ownerships_user_id"), table_name="ownerships")
    op.drop_index(op.f("ix_ownerships_order_id"), table_name="ownerships")
    op.drop_index(op.f("ix_ownerships_email"), table_name="ownerships")
    op.drop_table("ownerships")
    op.drop_index(op.f("ix_stock_units_sku"), table_name="stock_units")
    op.drop_index(op.f("ix_stock_units_serial"), table_name="stock_units")
    op.drop_index(op.f("ix_stock_units_order_id"), table_name="stock_units")
    op.drop_table("stock_units")
    op.drop_index(op.f("ix_order_lines_order_id"), table_name="order_lines")
    op.drop_table("order_lines")
    op.drop_index(op.f("ix_orders_user_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_status"), table_name="orders")
    op.drop_index(op.f("ix_orders_next_check_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_email"), table_name="orders")
    op.drop_table("orders")
    op.drop_table("btcpay_deliveries")
