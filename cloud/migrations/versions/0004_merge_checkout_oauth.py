"""Join the checkout and OAuth branches, which were written side by side from 0001.

Revision ID: 0004_merge
Revises: 0002_checkout, 0003_oauth
Create Date: 2026-11-27 23:00:00
"""

from __future__ import annotations

revision = "0004_merge"
down_revision = ("0002_checkout", "0003_oauth")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
