"""Cookie names, lifetimes and limits of the hub's sign-in."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

SESSION_COOKIE: Final = "ethos_hub_session"
KNOWN_USER_COOKIE: Final = "ethos_hub_known"
LOGIN_STATE_COOKIE: Final = "ethos_hub_login"

SESSION_LIFETIME: Final = timedelta(days=14)
# Signed in while the store was unreachable: shorter, and only for recently seen users.
OFFLINE_SESSION_LIFETIME: Final = timedelta(hours=12)
OFFLINE_GRACE: Final = timedelta(days=7)

PENDING_LOGIN_TTL_S: Final = 600.0
MAX_PENDING_LOGINS: Final = 1000
OIDC_TIMEOUT_S: Final = 5.0
OIDC_SCOPES: Final = "openid profile email"
ID_TOKEN_ALGORITHMS: Final = ("RS256", "ES256", "EdDSA")

ROLE_OWNER: Final = "owner"
ROLE_MEMBER: Final = "member"
