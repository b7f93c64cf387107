"""An index of the free units of each product, for holding units at checkout.

Holding units for an order asks for a product's free units in id order. With only the
indexes on `sku` and `order_id`, the database walked every unit of the product, held
and sold ones included, so a checkout cost more with every unit sold before it. A partial
index on (sku, id) of the free units finds them directly, on SQLite and PostgreSQL.

Revision ID: 0013_free_stock_units
Revises: 0012_remote_access
Create Date: 2026-12-07 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_free_stock_units"
down_revision = "0012_remote_access"
branch_labels = None
depends_on = None

NAME = "ix_stock_units_free"
FREE = sa.text("order_id IS NULL AND sold_at IS NULL")


def upgrade() -> None:
    op.create_index(NAME, "stock_units", ["sku", "id"], sqlite_where=FREE, postgresql_where=FREE)


def downgrade() -> None:
    op.drop_index(NAME, table_name="stock_units")
