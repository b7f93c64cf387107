"""People and sessions: hub users, their session cookies and offline credentials.

Who may become a user at all is decided at sign-in by ``household.Household``."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from hub.web.auth.const import (
    OFFLINE_GRACE,
    OFFLINE_SESSION_LIFETIME,
    ROLE_MEMBER,
    ROLE_OWNER,
    SESSION_LIFETIME,
)
from hub.web.auth.models import HubSessionRow, HubUserRow
from hub.web.auth.store import AuthStore

_LOGGER = logging.getLogger(__name__)


def hash_token(token: str) -> str:
    """What is stored for a session or offline token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


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
    """Users, sessions and offline credentials, in the hub's ``auth`` document."""

    def __init__(self, auth: AuthStore) -> None:
        self._auth = auth

    async def async_upsert_from_claims(
        self, subject: str, email: str | None, name: str | None
    ) -> HubUserRow:
        """Record an admitted person: the first one owns the hub, later ones are members."""
        auth = self._auth
        user = auth.user_by_subject(subject)
        if user is None:
            role = ROLE_MEMBER if auth.owner() is not None else ROLE_OWNER
            user = HubUserRow(id=auth.new_user_id(), subject=subject, role=role)
            auth.users[user.id] = user
        user.email, user.name, user.last_cloud_sign_in = email, name, datetime.now(UTC)
        await auth.async_save()
        return user

    async def async_users(self) -> list[HubUserRow]:
        return sorted(self._auth.users.values(), key=lambda user: user.id)

    async def async_set_role(self, user_id: int, role: str) -> None:
        if role not in (ROLE_OWNER, ROLE_MEMBER):
            raise ValueError(f"unknown role {role!r}")
        user = self._auth.users.get(user_id)
        if user is not None:
            user.role = role
            await self._auth.async_save()

    async def async_create_session(self, user: HubUserRow, *, offline: bool = False) -> NewSession:
        token = secrets.token_urlsafe(32)
        lifetime = OFFLINE_SESSION_LIFETIME if offline else SESSION_LIFETIME
        expires = datetime.now(UTC) + lifetime
        row = HubSessionRow(
            token_hash=hash_token(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(24),
            offline=offline,
            expires_at=expires,
        )
        self._auth.sessions[row.token_hash] = row
        await self._auth.async_save()
        return NewSession(token, self._principal(user, row), expires)

    @staticmethod
    def _principal(user: HubUserRow, row: HubSessionRow) -> Principal:
        return Principal(
            user_id=user.id,
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
        row = self._auth.sessions.get(token_hash)
        if row is None:
            return None
        if row.expires_at <= datetime.now(UTC):
            del self._auth.sessions[token_hash]
            self._auth.async_save_later()  # already refused: no need to wait for the disk
            return None
        user = self._auth.users.get(row.user_id)
        return self._principal(user, row) if user is not None else None

    async def async_user(self, user_id: int) -> HubUserRow | None:
        return self._auth.users.get(user_id)

    async def async_end_session(self, token: str) -> None:
        if self._auth.sessions.pop(hash_token(token), None) is not None:
            await self._auth.async_save()

    async def async_issue_offline_credential(self, user: HubUserRow) -> tuple[str, datetime]:
        """A browser-held secret that lets this user in while the store is unreachable."""
        token = secrets.token_urlsafe(32)
        until = datetime.now(UTC) + OFFLINE_GRACE
        stored = self._auth.users.get(user.id)
        if stored is not None:
            stored.offline_token_hash, stored.offline_until = hash_token(token), until
            await self._auth.async_save()
        return f"{user.id}.{token}", until

    async def async_user_for_offline_credential(self, credential: str | None) -> HubUserRow | None:
        if not credential or "." not in credential or len(credential) > 200:
            return None
        user_id, token = credential.split(".", 1)
        if not user_id.isdigit() or len(user_id) > 12:
            return None
        user = self._auth.users.get(int(user_id))
        if user is None or not user.offline_token_hash:
            return None
        if not hmac.compare_digest(user.offline_token_hash, hash_token(token)):
            return None
        if (user.offline_until or datetime.min.replace(tzinfo=UTC)) <= datetime.now(UTC):
            return None
        return user
