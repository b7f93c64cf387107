"""People and sessions: hub users, their session cookies and offline credentials.

Who may become a user at all is decided at sign-in by ``household.Household``."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select

from hub.core.storage import Storage
from hub.web.auth.const import (
    OFFLINE_GRACE,
    OFFLINE_SESSION_LIFETIME,
    ROLE_MEMBER,
    ROLE_OWNER,
    SESSION_LIFETIME,
)
from hub.web.auth.models import HubSessionRow, HubUserRow

_LOGGER = logging.getLogger(__name__)


def hash_token(token: str) -> str:
    """What is stored for a session or offline token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def aware(moment: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive; they were stored as UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Principal:
    """The signed-in person as handlers see them."""

    user_id: int
    subject: str
    name: str
    email: str | None
    role: str
    csrf_token: str
    offline: bool

    @property
    def is_owner(self) -> bool:
        return self.role == ROLE_OWNER


@dataclass(frozen=True)
class NewSession:
    token: str  # goes into the cookie; only its hash is stored
    principal: Principal
    expires_at: datetime


class UserStore:
    """Users, sessions and offline credentials, in the hub database."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def async_upsert_from_claims(
        self, subject: str, email: str | None, name: str | None
    ) -> HubUserRow:
        """Record an admitted person: the first one owns the hub, later ones are members."""
        now = datetime.now(UTC)

        def upsert(session: Session) -> HubUserRow:
            user = session.exec(select(HubUserRow).where(HubUserRow.subject == subject)).first()
            if user is None:
                first = not session.exec(
                    select(HubUserRow).where(HubUserRow.role == ROLE_OWNER)
                ).first()
                user = HubUserRow(subject=subject, role=ROLE_OWNER if first else ROLE_MEMBER)
            user.email, user.name, user.last_cloud_sign_in = email, name, now
            session.add(user)
            session.flush()
            session.refresh(user)
            return user

        return await self._storage.async_session(upsert)

    async def async_users(self) -> list[HubUserRow]:
        return await self._storage.async_session(
            lambda s: list(s.exec(select(HubUserRow).order_by(HubUserRow.id)).all())
        )

    async def async_set_role(self, user_id: int, role: str) -> None:
        if role not in (ROLE_OWNER, ROLE_MEMBER):
            raise ValueError(f"unknown role {role!r}")

        def update(session: Session) -> None:
            user = session.get(HubUserRow, user_id)
            if user is not None:
                user.role = role
                session.add(user)

        await self._storage.async_session(update)

    async def async_create_session(self, user: HubUserRow, *, offline: bool = False) -> NewSession:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        lifetime = OFFLINE_SESSION_LIFETIME if offline else SESSION_LIFETIME
        expires = datetime.now(UTC) + lifetime
        row = HubSessionRow(
            token_hash=hash_token(token),
            user_id=user.id or 0,
            csrf_token=csrf,
            offline=offline,
            expires_at=expires,
        )
        await self._storage.async_merge(row)
        return NewSession(token, self._principal(user, row), expires)

    @staticmethod
    def _principal(user: HubUserRow, row: HubSessionRow) -> Principal:
        return Principal(
            user_id=user.id or 0,
            subject=user.subject,
            name=user.name or user.email or user.subject,
            email=user.email,
            role=user.role,
            csrf_token=row.csrf_token,
            offline=row.offline,
        )

    async def async_principal_for(self, token: str | None) -> Principal | None:
        """The person behind a session cookie, or None if unknown or expired."""
        if not token or len(token) > 200:
            return None
        token_hash = hash_token(token)

        def lookup(session: Session) -> tuple[HubUserRow, HubSessionRow] | None:
            row = session.get(HubSessionRow, token_hash)
            if row is None:
                return None
            if aware(row.expires_at) <= datetime.now(UTC):
                session.delete(row)
                return None
            user = session.get(HubUserRow, row.user_id)
            return (user, row) if user is not None else None

        found = await self._storage.async_session(lookup)
        return self._principal(*found) if found else None

    async def async_user(self, user_id: int) -> HubUserRow | None:
        return await self._storage.async_session(lambda s: s.get(HubUserRow, user_id))

    async def async_end_session(self, token: str) -> None:
        await self._storage.async_delete(HubSessionRow, hash_token(token))

    async def async_issue_offline_credential(self, user: HubUserRow) -> tuple[str, datetime]:
        """A browser-held secret that lets this user in while the store is unreachable."""
        token = secrets.token_urlsafe(32)
        until = datetime.now(UTC) + OFFLINE_GRACE

        def save(session: Session) -> None:
            stored = session.get(HubUserRow, user.id)
            if stored is not None:
                stored.offline_token_hash, stored.offline_until = hash_token(token), until
                session.add(stored)

        await self._storage.async_session(save)
        return f"{user.id}.{token}", until

    async def async_user_for_offline_credential(self, credential: str | None) -> HubUserRow | None:
        if not credential or "." not in credential or len(credential) > 200:
            return None
        user_id, token = credential.split(".", 1)
        if not user_id.isdigit():
            return None

        def lookup(session: Session) -> HubUserRow | None:
            return session.get(HubUserRow, int(user_id))

        user = await self._storage.async_session(lookup)
        if user is None or not user.offline_token_hash:
            return None
        if not hmac.compare_digest(user.offline_token_hash, hash_token(token)):
            return None
        if (aware(user.offline_until) or datetime.min.replace(tzinfo=UTC)) <= datetime.now(UTC):
            return None
        return user
