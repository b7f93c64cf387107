"""The recommender model shared through the database (trained by one replica).

Revision ID: 0011_recommender_models
Revises: 0010_admin_order_indexes
Create Date: 2026-12-05 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from cloud.db import UTCDateTime

revision = "0011_recommender_models"
down_revision = "0010_admin_order_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recommender_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("trained_at", UTCDateTime(), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("recommender_models")
