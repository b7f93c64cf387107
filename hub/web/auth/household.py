"""Who belongs to this hub: admission at sign-in, invitations, removal, ownership.

Nobody gets a session just for having a store account. A person is admitted when they are
already a member, when they are the store account the hub is linked to, when the hub has
no owner yet and no link (first set-up: the first person becomes owner), or when the owner
invited them: by email (the store must vouch for the address, ``email_verified``) or with
a one-time link. Invitations are spent by the sign-in that uses them.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from hub.web.auth.const import (
    INVITE_EMAIL,
    INVITE_EMAIL_LIFETIME,
    INVITE_LINK,
    INVITE_LINK_LIFETIME,
    MAX_EMAIL_LENGTH,
    MAX_OPEN_INVITATIONS,
    ROLE_MEMBER,
    ROLE_OWNER,
)
from hub.web.auth.models import HubInvitationRow, HubUserRow
from hub.web.auth.store import AuthStore
from hub.web.auth.users import hash_token

_LOGGER = logging.getLogger(__name__)
INVITE_TOKEN_BYTES = 32


class HouseholdError(ValueError):
    """A change the owner asked for that cannot be made; the message says why."""


@dataclass(frozen=True)
class Identity:
    """What the store said about the person signing in (from the verified ID token)."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None


def normalize_email(email: str) -> str:
    return email.strip().casefold()


def check_email(email: str) -> str:
    """The address to invite, normalized; HouseholdError when it cannot be one."""
    address = normalize_email(email)
    local, _, domain = address.partition("@")
    if (
        not local
        or "." not in domain
        or len(address) > MAX_EMAIL_LENGTH
        or any(ch.isspace() or ord(ch) < 32 or ch in "<>,;\"'" for ch in address)
    ):
        raise HouseholdError("that does not look like an email address")
    return address


def _now() -> datetime:
    return datetime.now(UTC)


class Household:
    """The hub's people and invitations, in the hub's ``auth`` document.

    Each operation reads and changes the document in memory without awaiting in between
    (so it is atomic for the event loop), then waits until the change is on disk."""

    def __init__(self, auth: AuthStore) -> None:
        self._auth = auth

    # Admission ------------------------------------------------------------------
    async def async_admit(
        self, identity: Identity, *, linked_subject: str | None, invite_token: str | None
    ) -> HubUserRow | None:
        """The person's hub user after this sign-in, or None: not admitted (ask the owner)."""
        auth = self._auth
        user = auth.user_by_subject(identity.subject)
        if user is None:
            role = self._role_for_newcomer(identity, linked_subject, invite_token)
            if role is None:
                return None
            user = HubUserRow(id=auth.new_user_id(), subject=identity.subject, role=role)
            auth.users[user.id] = user
        elif identity.subject == linked_subject and auth.owner() is None:
            user.role = ROLE_OWNER  # a hub linked before owners were recorded at link time
        user.email, user.name = identity.email, identity.name
        user.last_cloud_sign_in = _now()
        await auth.async_save()
        return user

    def _role_for_newcomer(
        self, identity: Identity, linked_subject: str | None, invite_token: str | None
    ) -> str | None:
        auth = self._auth
        has_owner = auth.owner() is not None
        if identity.subject == linked_subject:
            return ROLE_MEMBER if has_owner else ROLE_OWNER
        if linked_subject is None and not has_owner:
            return ROLE_OWNER  # first set-up of a hub that signs in without a store link
        auth.forget_expired_invitations()
        invitation = None
        if invite_token:
            invitation = self._link_invitation(invite_token)
        if invitation is None and identity.email and identity.email_verified:
            invitation = self._email_invitation(normalize_email(identity.email))
        if invitation is None:
            return None
        del auth.invitations[invitation.id]  # single use: spent by the save that admits
        _LOGGER.info("Invitation %s (%s) accepted", invitation.id, invitation.kind)
        return ROLE_MEMBER

    def _email_invitation(self, address: str) -> HubInvitationRow | None:
        return next(
            (
                row
                for row in self._auth.invitations.values()
                if row.kind == INVITE_EMAIL and row.email == address
            ),
            None,
        )

    def _link_invitation(self, token: str) -> HubInvitationRow | None:
        token_hash = hash_token(token)
        return next(
            (
                row
                for row in self._auth.invitations.values()
                if row.kind == INVITE_LINK and row.token_hash == token_hash
            ),
            None,
        )

    async def async_has_owner(self) -> bool:
        return self._auth.owner() is not None

    async def async_link_owner(self, subject: str, email: str | None, name: str | None) -> None:
        """The hub was linked to this store account: it owns the hub, nobody else does."""
        auth = self._auth
        for other in auth.users.values():
            if other.role == ROLE_OWNER and other.subject != subject:
                other.role = ROLE_MEMBER
                _LOGGER.info("Hub user %s is a member now (the hub was linked anew)", other.id)
        user = auth.user_by_subject(subject)
        if user is None:
            user = HubUserRow(
                id=auth.new_user_id(), subject=subject, email=email, name=name, role=ROLE_OWNER
            )
            auth.users[user.id] = user
        user.role = ROLE_OWNER
        await auth.async_save()

    # Invitations ---------------------------------------------------------------
    async def async_invite_email(self, email: str, invited_by: int) -> HubInvitationRow:
        address = check_email(email)
        auth = self._auth
        self._check_room()
        if any(u.email and normalize_email(u.email) == address for u in auth.users.values()):
            raise HouseholdError(f"{address} is already a member of this hub")
        expires = _now() + INVITE_EMAIL_LIFETIME
        row = self._email_invitation(address)
        if row is None:
            row = HubInvitationRow(
                id=auth.new_invitation_id(),
                kind=INVITE_EMAIL,
                email=address,
                invited_by=invited_by,
                expires_at=expires,
            )
            auth.invitations[row.id] = row
        row.invited_by, row.expires_at = invited_by, expires
        await auth.async_save()
        return row

    async def async_create_invite_link(self, invited_by: int) -> tuple[str, datetime]:
        """A one-time invitation token (shown once; only its hash is kept) and its expiry."""
        token = secrets.token_urlsafe(INVITE_TOKEN_BYTES)
        expires = _now() + INVITE_LINK_LIFETIME
        self._check_room()
        auth = self._auth
        row = HubInvitationRow(
            id=auth.new_invitation_id(),
            kind=INVITE_LINK,
            token_hash=hash_token(token),
            invited_by=invited_by,
            expires_at=expires,
        )
        auth.invitations[row.id] = row
        await auth.async_save()
        return token, expires

    def _check_room(self) -> None:
        self._auth.forget_expired_invitations()
        if len(self._auth.invitations) >= MAX_OPEN_INVITATIONS:
            raise HouseholdError("too many open invitations; cancel some first")

    async def async_link_invitation_valid(self, token: str) -> bool:
        """Whether this invitation link can still be used (it is not spent by asking)."""
        if not token or len(token) > 200:
            return False
        row = self._link_invitation(token)
        return row is not None and row.expires_at > _now()

    async def async_open_invitations(self) -> list[HubInvitationRow]:
        self._auth.forget_expired_invitations()
        return sorted(self._auth.invitations.values(), key=lambda row: row.id)

    async def async_cancel_invitation(self, invitation_id: int) -> None:
        if self._auth.invitations.pop(invitation_id, None) is not None:
            await self._auth.async_save()

    # Membership ------------------------------------------------------------------
    async def async_remove(self, user_id: int) -> int:
        """Remove a person: their sessions end now. Returns how many sessions ended."""
        ended = self._auth.end_access(user_id)
        self._auth.users.pop(user_id, None)
        await self._auth.async_save()
        _LOGGER.info("Removed hub user %s (%s sessions ended)", user_id, ended)
        return ended

    async def async_transfer_ownership(self, to_user_id: int) -> None:
        """Make this member the owner; every other owner becomes a member."""
        target = self._auth.users.get(to_user_id)
        if target is None:
            raise HouseholdError("no such person on this hub")
        for user in self._auth.users.values():
            if user.role == ROLE_OWNER:
                user.role = ROLE_MEMBER
        target.role = ROLE_OWNER
        await self._auth.async_save()
        _LOGGER.info("Hub ownership transferred to user %s", to_user_id)
