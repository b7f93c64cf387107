"""refunds: money returned through BTCPay pull payments, one request at a time per order

Revision ID: 0008_refunds
Revises: 0007_shipping_stock
Create Date: 2026-12-05 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cloud.db

revision = "0008_refunds"
down_revision = "0007_shipping_stock"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString
_utc = cloud.db.UTCDateTime
_ONE_REQUESTING = sa.text("status = 'requesting'")


def upgrade() -> None:
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", _str(length=32), nullable=False),
        sa.Column("invoice_id", _str(length=64), nullable=False),
        sa.Column("status", _str(length=24), nullable=False),
        sa.Column("variant", _str(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", _str(length=8), nullable=False),
        sa.Column("cancels_order", sa.Boolean(), nullable=False),
        sa.Column("pull_payment_id", _str(length=64), nullable=True),
        sa.Column("claim_link", _str(length=500), nullable=True),
        sa.Column("pull_payment_amount", _str(length=40), nullable=True),
        sa.Column("pull_payment_currency", _str(length=8), nullable=True),
        sa.Column("payout_id", _str(length=64), nullable=True),
        sa.Column("payout_state", _str(length=24), nullable=True),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(timezone=True), nullable=False),
        sa.Column("updated_at", _utc(timezone=True), nullable=False),
        sa.Column("paid_at", _utc(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["operator_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pull_payment_id"),
    )
    op.create_index(op.f("ix_refunds_order_id"), "refunds", ["order_id"], unique=False)
    op.create_index(
        "ix_refunds_one_requesting_per_order",
        "refunds",
        ["order_id"],
        unique=True,
        sqlite_where=_ONE_REQUESTING,
        postgresql_where=_ONE_REQUESTING,
    )


def downgrade() -> None:
    op.drop_index("ix_refunds_one_requesting_per_order", table_name="refunds")
    op.drop_index(op.f("ix_refunds_order_id"), table_name="refunds")
    op.drop_table("refunds")
