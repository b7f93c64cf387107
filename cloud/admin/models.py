"""Console tables: the audit log, operators' TOTP second factor and its recovery codes, and
the browser sessions that passed the second factor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from cloud.db import UTCDateTime, utcnow


class AuditEntry(SQLModel, table=True):
    """One operator action: who, when, what. Append-only (database triggers refuse changes)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
    # Kept as text too: the entry must still say who acted after the account is gone.
    actor_id: int | None = Field(default=None, index=True)
    actor_email: str = Field(max_length=254)
    action: str = Field(max_length=64, index=True)
    target: str = Field(max_length=200)
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class OperatorTotp(SQLModel, table=True):
    """An operator's TOTP secret, sealed; `confirmed_at` is set once a code proved enrolment."""

    __tablename__ = "operator_totp"

    user_id: int = Field(primary_key=True, foreign_key="users.id", ondelete="CASCADE")
    sealed_secret: str = Field(max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # The last time step accepted: a code is good once, never replayed in its window.
    last_step: int = Field(default=0)


class RecoveryCode(SQLModel, table=True):
    """A single-use recovery code for an operator who lost the authenticator; hash only."""

    __tablename__ = "operator_recovery_codes"

    code_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class SecondFactorSession(SQLModel, table=True):
    """A browser session whose operator entered a TOTP or recovery code."""

    __tablename__ = "admin_second_factor_sessions"

    session_hash: str = Field(
        primary_key=True, max_length=64, foreign_key="web_sessions.id_hash", ondelete="CASCADE"
    )
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    verified_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
