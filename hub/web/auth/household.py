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

from sqlmodel import Session, col, delete, select

from hub.core.storage import Storage
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
from hub.web.auth.models import HubInvitationRow, HubSessionRow, HubUserGrantRow, HubUserRow
from hub.web.auth.users import aware, hash_token

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


def _owner(session: Session) -> HubUserRow | None:
    return session.exec(select(HubUserRow).where(HubUserRow.role == ROLE_OWNER)).first()


def _forget_expired(session: Session) -> None:
    session.exec(delete(HubInvitationRow).where(col(HubInvitationRow.expires_at) <= _now()))


def end_access(session: Session, user_id: int) -> int:
    """End a person's sessions, offline credential and kept grant; the count of sessions."""
    ended = session.exec(delete(HubSessionRow).where(col(HubSessionRow.user_id) == user_id))
    session.exec(delete(HubUserGrantRow).where(col(HubUserGrantRow.user_id) == user_id))
    user = session.get(HubUserRow, user_id)
    if user is not None:
        user.offline_token_hash, user.offline_until = None, None
        session.add(user)
    return int(ended.rowcount or 0)  # type: ignore[attr-defined]


class Household:
    """The hub's people and invitations, in the hub database."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    # Admission ------------------------------------------------------------------
    async def async_admit(
        self, identity: Identity, *, linked_subject: str | None, invite_token: str | None
    ) -> HubUserRow | None:
        """The person's hub user after this sign-in, or None: not admitted (ask the owner)."""

        def admit(session: Session) -> HubUserRow | None:
            user = session.exec(
                select(HubUserRow).where(HubUserRow.subject == identity.subject)
            ).first()
            if user is None:
                role = self._role_for_newcomer(session, identity, linked_subject, invite_token)
                if role is None:
                    return None
                user = HubUserRow(subject=identity.subject, role=role)
            elif identity.subject == linked_subject and _owner(session) is None:
                user.role = ROLE_OWNER  # a hub linked before owners were recorded at link time
            user.email, user.name = identity.email, identity.name
            user.last_cloud_sign_in = _now()
            session.add(user)
            session.flush()
            session.refresh(user)
            return user

        return await self._storage.async_session(admit)

    @staticmethod
    def _role_for_newcomer(
        session: Session, identity: Identity, linked_subject: str | None, invite_token: str | None
    ) -> str | None:
        has_owner = _owner(session) is not None
        if identity.subject == linked_subject:
            return ROLE_MEMBER if has_owner else ROLE_OWNER
        if linked_subject is None and not has_owner:
            return ROLE_OWNER  # first set-up of a hub that signs in without a store link
        _forget_expired(session)
        invitation = None
        if invite_token:
            invitation = session.exec(
                select(HubInvitationRow).where(
                    HubInvitationRow.kind == INVITE_LINK,
                    HubInvitationRow.token_hash == hash_token(invite_token),
                )
            ).first()
        if invitation is None and identity.email and identity.email_verified:
            invitation = session.exec(
                select(HubInvitationRow).where(
                    HubInvitationRow.kind == INVITE_EMAIL,
                    HubInvitationRow.email == normalize_email(identity.email),
                )
            ).first()
        if invitation is None:
            return None
        session.delete(invitation)  # single use: spent in the same transaction that admits
        _LOGGER.info("Invitation %s (%s) accepted", invitation.id, invitation.kind)
        return ROLE_MEMBER

    async def async_has_owner(self) -> bool:
        return await self._storage.async_session(lambda s: _owner(s) is not None)

    async def async_link_owner(self, subject: str, email: str | None, name: str | None) -> None:
        """The hub was linked to this store account: it owns the hub, nobody else does."""

        def make_owner(session: Session) -> None:
            for other in session.exec(select(HubUserRow).where(HubUserRow.role == ROLE_OWNER)):
                if other.subject != subject:
                    other.role = ROLE_MEMBER
                    session.add(other)
                    _LOGGER.info("Hub user %s is a member now (the hub was linked anew)", other.id)
            user = session.exec(select(HubUserRow).where(HubUserRow.subject == subject)).first()
            if user is None:
                user = HubUserRow(subject=subject, email=email, name=name, role=ROLE_OWNER)
            user.role = ROLE_OWNER
            session.add(user)

        await self._storage.async_session(make_owner)

    # Invitations ---------------------------------------------------------------
    async def async_invite_email(self, email: str, invited_by: int) -> HubInvitationRow:
        address = check_email(email)

        def invite(session: Session) -> HubInvitationRow:
            self._check_room(session)
            members = session.exec(select(HubUserRow.email)).all()
            if any(m and normalize_email(m) == address for m in members):
                raise HouseholdError(f"{address} is already a member of this hub")
            existing = session.exec(
                select(HubInvitationRow).where(
                    HubInvitationRow.kind == INVITE_EMAIL, HubInvitationRow.email == address
                )
            ).first()
            row = existing or HubInvitationRow(kind=INVITE_EMAIL, email=address, invited_by=0)
            row.invited_by, row.expires_at = invited_by, _now() + INVITE_EMAIL_LIFETIME
            session.add(row)
            session.flush()
            session.refresh(row)
            return row

        return await self._storage.async_session(invite)

    async def async_create_invite_link(self, invited_by: int) -> tuple[str, datetime]:
        """A one-time invitation token (shown once; only its hash is kept) and its expiry."""
        token = secrets.token_urlsafe(INVITE_TOKEN_BYTES)
        expires = _now() + INVITE_LINK_LIFETIME

        def save(session: Session) -> None:
            self._check_room(session)
            session.add(
                HubInvitationRow(
                    kind=INVITE_LINK,
                    token_hash=hash_token(token),
                    invited_by=invited_by,
                    expires_at=expires,
                )
            )

        await self._storage.async_session(save)
        return token, expires

    @staticmethod
    def _check_room(session: Session) -> None:
        _forget_expired(session)
        if len(session.exec(select(HubInvitationRow.id)).all()) >= MAX_OPEN_INVITATIONS:
            raise HouseholdError("too many open invitations; cancel some first")

    async def async_link_invitation_valid(self, token: str) -> bool:
        """Whether this invitation link can still be used (it is not spent by asking)."""
        if not token or len(token) > 200:
            return False

        def lookup(session: Session) -> bool:
            row = session.exec(
                select(HubInvitationRow).where(
                    HubInvitationRow.kind == INVITE_LINK,
                    HubInvitationRow.token_hash == hash_token(token),
                )
            ).first()
            return row is not None and aware(row.expires_at) > _now()

        return await self._storage.async_session(lookup)

    async def async_open_invitations(self) -> list[HubInvitationRow]:
        def listing(session: Session) -> list[HubInvitationRow]:
            _forget_expired(session)
            return list(session.exec(select(HubInvitationRow).order_by(HubInvitationRow.id)))

        return await self._storage.async_session(listing)

    async def async_cancel_invitation(self, invitation_id: int) -> None:
        await self._storage.async_delete(HubInvitationRow, invitation_id)

    # Membership ------------------------------------------------------------------
    async def async_remove(self, user_id: int) -> int:
        """Remove a person: their sessions end now. Returns how many sessions ended."""

        def remove(session: Session) -> int:
            ended = end_access(session, user_id)
            user = session.get(HubUserRow, user_id)
            if user is not None:
                session.delete(user)
            return ended

        ended = await self._storage.async_session(remove)
        _LOGGER.info("Removed hub user %s (%s sessions ended)", user_id, ended)
        return ended

    async def async_transfer_ownership(self, to_user_id: int) -> None:
        """Make this member the owner; every other owner becomes a member."""

        def transfer(session: Session) -> None:
            target = session.get(HubUserRow, to_user_id)
            if target is None:
                raise HouseholdError("no such person on this hub")
            for user in session.exec(select(HubUserRow).where(HubUserRow.role == ROLE_OWNER)):
                user.role = ROLE_MEMBER
                session.add(user)
            target.role = ROLE_OWNER
            session.add(target)

        await self._storage.async_session(transfer)
        _LOGGER.info("Hub ownership transferred to user %s", to_user_id)
