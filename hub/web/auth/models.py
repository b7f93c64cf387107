"""Tables for people who use this hub and their sessions (secrets stored only as hashes)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from hub.core.models import HubModel, utcnow


class HubUserRow(HubModel, table=True):
    __tablename__ = "hub_user"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(index=True, unique=True)  # the store account's `sub`
    email: str | None = None
    name: str | None = None
    role: str
    last_cloud_sign_in: datetime | None = None
    offline_token_hash: str | None = None
    offline_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class HubSessionRow(HubModel, table=True):
    __tablename__ = "hub_session"

    token_hash: str = Field(primary_key=True)
    user_id: int = Field(index=True)
    csrf_token: str
    offline: bool = False
    expires_at: datetime
    created_at: datetime = Field(default_factory=utcnow)


class HubInvitationRow(HubModel, table=True):
    """An owner's invitation: by email (``email``), or a one-time link (``token_hash``)."""

    __tablename__ = "hub_invitation"

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # INVITE_EMAIL or INVITE_LINK
    email: str | None = Field(default=None, index=True)  # casefolded
    token_hash: str | None = Field(default=None, index=True, unique=True)
    invited_by: int  # the owner's hub_user id
    expires_at: datetime
    created_at: datetime = Field(default_factory=utcnow)


class HubUserGrantRow(HubModel, table=True):
    """A person's refresh token from their last sign-in, sealed with the hub's SecretBox:
    spending it again tells whether the store still lets them in."""

    __tablename__ = "hub_user_grant"

    user_id: int = Field(primary_key=True)
    client_id: str  # the hub's client at the store that the token belongs to
    refresh_token_sealed: str
    checked_at: datetime = Field(default_factory=utcnow)
