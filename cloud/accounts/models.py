"""Account tables: users, single-use email tokens, web sessions and sign-in throttles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cloud.db import UTCDateTime, utcnow


class User(SQLModel, table=True):
    """A store account. Created partial (unconfirmed) at sign-up, completed by the mail link."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    # Normalised (lower-case, trimmed) so uniqueness is case-insensitive on every backend.
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    confirmed: bool = Field(default=False)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    password_changed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # The operator role (`ethos cloud admin grant|revoke EMAIL`): may use /admin.
    is_operator: bool = Field(default=False)


class EmailToken(SQLModel, table=True):
    """A single-use link token (confirmation or password reset); only its hash is stored.

    A sign-up's confirmation link carries that sign-up's own password hash: it becomes
    the account's password only when this link confirms the address (and its password is
    entered again), so whoever proves the mailbox is the one whose password counts.
    """

    __tablename__ = "email_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    purpose: str = Field(max_length=16)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    password_hash: str | None = Field(default=None, max_length=255)
    # An email change's link: the address it moves the account to once opened there.
    new_email: str | None = Field(default=None, max_length=254)


class WebSession(SQLModel, table=True):
    """A signed-in browser session; the cookie holds the token, the row only its hash."""

    __tablename__ = "web_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class LoginThrottle(SQLModel, table=True):
    """Failed sign-in bookkeeping for one key (`email:<addr>` or `ip:<addr>`)."""

    __tablename__ = "login_throttles"

    key: str = Field(primary_key=True, max_length=300)
    failures: int = Field(default=0)
    last_failure_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    blocked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
