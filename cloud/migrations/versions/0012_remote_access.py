"""Remote access (#19): hubs that asked for it, and the accounts each lets in.

Revision ID: 0012_remote_access
Revises: 0011_recommender_models
Create Date: 2026-12-05 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from cloud.db import UTCDateTime

revision = "0012_remote_access"
down_revision = "0011_recommender_models"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remote_hubs",
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.client_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_table(
        "remote_members",
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["remote_hubs.client_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("client_id", "user_id"),
    )
    op.create_index(op.f("ix_remote_members_user_id"), "remote_members", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_remote_members_user_id"), table_name="remote_members")
    op.drop_table("remote_members")
    op.drop_table("remote_hubs")
