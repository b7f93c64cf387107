"""Indexes for the console's order list: newest first, by status, and by product.

Keyset pages on (created_at, id) read 51 index entries instead of sorting every order
(benchmarks/admin_order_list.py measures both, 100,000 orders on PostgreSQL).

Revision ID: 0010_admin_order_indexes
Revises: 0009_job_leases
Create Date: 2026-12-05 13:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0010_admin_order_indexes"
down_revision = "0009_job_leases"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_orders_created_at_id", "orders", ["created_at", "id"]),
    ("ix_orders_status_created_at_id", "orders", ["status", "created_at", "id"]),
    ("ix_order_lines_sku_order_id", "order_lines", ["sku", "order_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
