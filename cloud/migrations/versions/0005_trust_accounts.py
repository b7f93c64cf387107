"""Each pending sign-up keeps its own password hash beside its confirmation link.

Revision ID: 0005_trust_accounts
Revises: 0004_merge
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005_trust_accounts"
down_revision = "0004_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        batch_op.drop_column("password_hash")
