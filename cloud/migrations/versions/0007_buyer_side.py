"""The buyer's side: order timeline timestamps, erased orders, email change links.

Revision ID: 0007_buyer_side
Revises: 0006_shop_admin
Create Date: 2026-12-05 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from cloud.db import UTCDateTime

revision = "0007_buyer_side"
down_revision = "0006_shop_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paid_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("erased_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("new_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        batch_op.drop_column("new_email")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("paid_at")
