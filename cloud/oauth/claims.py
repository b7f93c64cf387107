"""Who signs in, and what is said about them in ID tokens and at /oauth/userinfo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cloud.accounts.models import User
from cloud.db import utcnow
from cloud.oauth.const import SCOPE_EMAIL, SCOPE_PROFILE


@dataclass(frozen=True)
class EndUser:
    """The resource owner as Authlib carries it between callbacks (no database handle)."""

    id: int
    email: str
    email_verified: bool
    auth_time: datetime

    @classmethod
    def of(cls, user: User, auth_time: datetime | None = None) -> EndUser:
        assert user.id is not None
        return cls(user.id, user.email, user.confirmed, auth_time or utcnow())


def user_claims(user_id: int, email: str, email_verified: bool, scope: str) -> dict[str, object]:
    """Standard claims released for `scope`: `sub` always, more with `email` / `profile`."""
    scopes = set(scope.split())
    claims: dict[str, object] = {"sub": str(user_id)}
    if SCOPE_EMAIL in scopes:
        claims["email"] = email
        claims["email_verified"] = email_verified
    if SCOPE_PROFILE in scopes:
        claims["preferred_username"] = email
    return claims
