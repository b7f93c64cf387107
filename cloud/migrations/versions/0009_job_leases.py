"""Leases of the jobs that run on one replica at a time (reconciler, mail, key rotation, …).

Revision ID: 0009_job_leases
Revises: 0008_refunds, 0007_buyer_side
Create Date: 2026-12-05 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from cloud.db import UTCDateTime

revision = "0009_job_leases"
down_revision = ("0008_refunds", "0007_buyer_side")  # also joins the two lines main had
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("acquired_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("job_leases")
