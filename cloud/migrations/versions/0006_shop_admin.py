"""The operations console: operators (role, TOTP, recovery codes, verified sessions), the
append-only audit log, order versions for operator actions, the webhook log and the
invoice timeline.

Revision ID: 0006_shop_admin
Revises: 0005_trust_accounts
Create Date: 2026-12-05 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cloud.db

revision = "0006_shop_admin"
down_revision = "0005_trust_accounts"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString

# The audit log is append-only: the database itself refuses to change or remove an entry.
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
)
_POSTGRES_TRIGGERS = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_operator", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", cloud.db.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_email", _TEXT(length=254), nullable=False),
        sa.Column("action", _TEXT(length=64), nullable=False),
        sa.Column("target", _TEXT(length=200), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_actor_id"), "audit_log", ["actor_id"])
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"])
    triggers = (
        _POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else _SQLITE_TRIGGERS
    )
    for statement in triggers:
        op.execute(statement)

    op.create_table(
        "operator_totp",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sealed_secret", _TEXT(length=200), nullable=False),
        sa.Column("created_at", cloud.db.UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", cloud.db.UTCDateTime(), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "operator_recovery_codes",
        sa.Column("code_hash", _TEXT(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("used_at", cloud.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    op.create_index(
        op.f("ix_operator_recovery_codes_user_id"), "operator_recovery_codes", ["user_id"]
    )
    op.create_table(
        "admin_second_factor_sessions",
        sa.Column("session_hash", _TEXT(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("verified_at", cloud.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_hash"], ["web_sessions.id_hash"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_hash"),
    )
    op.create_index(
        op.f("ix_admin_second_factor_sessions_user_id"),
        "admin_second_factor_sessions",
        ["user_id"],
    )

    op.create_table(
        "btcpay_webhook_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", cloud.db.UTCDateTime(), nullable=False),
        sa.Column("delivery_id", _TEXT(length=64), nullable=True),
        sa.Column("original_delivery_id", _TEXT(length=64), nullable=True),
        sa.Column("webhook_id", _TEXT(length=64), nullable=True),
        sa.Column("invoice_id", _TEXT(length=64), nullable=True),
        sa.Column("event_type", _TEXT(length=48), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("outcome", _TEXT(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_truncated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_btcpay_webhook_log_received_at"), "btcpay_webhook_log", ["received_at"]
    )
    op.create_index(op.f("ix_btcpay_webhook_log_invoice_id"), "btcpay_webhook_log", ["invoice_id"])

    op.create_table(
        "invoice_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", _TEXT(length=32), nullable=True),
        sa.Column("invoice_id", _TEXT(length=64), nullable=False),
        sa.Column("at", cloud.db.UTCDateTime(), nullable=False),
        sa.Column("source", _TEXT(length=16), nullable=False),
        sa.Column("event_type", _TEXT(length=48), nullable=True),
        sa.Column("delivery_id", _TEXT(length=64), nullable=True),
        sa.Column("status", _TEXT(length=16), nullable=True),
        sa.Column("additional_status", _TEXT(length=16), nullable=True),
        sa.Column("amount", sa.Numeric(12, 2), nullable=True),
        sa.Column("currency", _TEXT(length=8), nullable=True),
        sa.Column("payment_value", sa.Numeric(20, 8), nullable=True),
        sa.Column("outcome", _TEXT(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_invoice_events_order_id"), "invoice_events", ["order_id"])
    op.create_index(op.f("ix_invoice_events_invoice_id"), "invoice_events", ["invoice_id"])


def downgrade() -> None:
    op.drop_table("invoice_events")
    op.drop_table("btcpay_webhook_log")
    op.drop_table("admin_second_factor_sessions")
    op.drop_table("operator_recovery_codes")
    op.drop_table("operator_totp")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.drop_table("audit_log")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_operator")
