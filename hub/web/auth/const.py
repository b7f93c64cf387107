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
# Sign-ins in progress: each browser address has its own share, so one address cannot push
# out the others'; the overall bound only keeps memory in check.
MAX_PENDING_LOGINS_PER_CLIENT: Final = 20
MAX_PENDING_LOGINS: Final = 10_000
OIDC_TIMEOUT_S: Final = 5.0
OIDC_SCOPES: Final = "openid profile email"
ID_TOKEN_ALGORITHMS: Final = ("RS256", "ES256", "EdDSA")

ROLE_OWNER: Final = "owner"
ROLE_MEMBER: Final = "member"

# Invitations: by email (admits the store account whose verified address matches) or by a
# one-time link (or its QR code) the owner hands over.
INVITE_EMAIL: Final = "email"
INVITE_LINK: Final = "link"
INVITE_EMAIL_LIFETIME: Final = timedelta(days=7)
INVITE_LINK_LIFETIME: Final = timedelta(hours=24)
MAX_OPEN_INVITATIONS: Final = 50
MAX_EMAIL_LENGTH: Final = 254

# Whether the store still lets each person in (password reset, access revoked): their
# refresh token is spent again when a session is used ``account_check_interval`` after the
# last check (HubConfig), and by a sweep as often.
ACCOUNT_CHECK_RETRY_S: Final = 60.0  # the store was unreachable: ask again after this
