"""Rows of the hub's people and their sessions (secrets kept only as hashes or sealed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hub.core.models import utcnow


@dataclass(slots=True)
class HubUserRow:
    id: int
    subject: str  # the store account's `sub`
    role: str
    email: str | None = None
    name: str | None = None
    last_cloud_sign_in: datetime | None = None
    offline_token_hash: str | None = None
    offline_until: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class HubSessionRow:
    token_hash: str
    user_id: int
    csrf_token: str
    expires_at: datetime
    offline: bool = False
    created_at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class HubInvitationRow:
    """An owner's invitation: by email (``email``), or a one-time link (``token_hash``)."""

    id: int
    kind: str  # INVITE_EMAIL or INVITE_LINK
    invited_by: int  # the owner's user id
    expires_at: datetime
    email: str | None = None  # casefolded
    token_hash: str | None = None
    created_at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class HubUserGrantRow:
    """A person's refresh token from their last sign-in, sealed with the hub's SecretBox:
    spending it again tells whether the store still lets them in."""

    user_id: int
    client_id: str  # the hub's client at the store that the token belongs to
    refresh_token_sealed: str
    checked_at: datetime = field(default_factory=utcnow)
