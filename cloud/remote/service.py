"""Who may reach which home remotely: the domain operations behind the store API.

A hub (its registered OAuth client) says which store accounts it lets in; people get
broker tokens for the hubs that list them. Every change that takes rights away returns
the broker subjects that lost them, so the caller closes their connections once the
change has committed. No aiohttp here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.models import User
from cloud.db import utcnow
from cloud.domain import Refusal
from cloud.oauth.models import Consent, OAuthClient, OAuthToken
from cloud.remote.broker_const import HUB_SUBJECT_PREFIX, PERSON_SUBJECT_PREFIX, TOPIC_ROOT
from cloud.remote.broker_tokens import HUB_ID
from cloud.remote.const import IGNORED_NOT_AN_ACCOUNT, IGNORED_NOT_SIGNED_IN
from cloud.remote.models import RemoteHub, RemoteMember

_LOGGER = logging.getLogger(__name__)

NOT_A_HUB = Refusal(
    "unauthorized_client",
    "Only a hub registered with the store may ask for remote access, not a store app.",
    403,
)
NOT_A_HOME_ID = Refusal(
    "unauthorized_client",
    "This hub registered before remote access existed: link it to the store again.",
    403,
)


@dataclass(frozen=True)
class Home:
    """A hub that lets a person in: its client id and the name it registered with."""

    hub: str
    name: str


@dataclass(frozen=True)
class HubSessionOutcome:
    enabled: bool
    members: frozenset[int]  # the accounts let in now
    # Subjects sent but not let in, each with why (IGNORED_NOT_AN_ACCOUNT: no confirmed
    # store account; IGNORED_NOT_SIGNED_IN: an account that never signed in to this hub).
    ignored: dict[str, str]
    lost: frozenset[str]  # broker subjects whose rights ended: close their connections


def hub_subject(client_id: str) -> str:
    # Any client id, not only a home's: account deletion names every hub it unlinks.
    return HUB_SUBJECT_PREFIX + client_id


def person_subject(user_id: int) -> str:
    return f"{PERSON_SUBJECT_PREFIX}{user_id}"


def topic_root(client_id: str) -> str:
    return f"{TOPIC_ROOT}/{client_id}"


def can_open_hub_session(client: OAuthClient) -> Refusal | None:
    """Side-effect free: only a registered hub, never a first-party app, has a home; its
    client id names the home, so it must be one (32 lowercase hex, REMOTE.md)."""
    if client.first_party:
        return NOT_A_HUB
    return None if HUB_ID.fullmatch(client.client_id) else NOT_A_HOME_ID


async def async_lock_client(session: AsyncSession, client_id: str) -> OAuthClient | None:
    """The hub's client row, locked until the transaction ends (PostgreSQL), or None."""
    return await session.scalar(
        select(OAuthClient).where(col(OAuthClient.client_id) == client_id).with_for_update()
    )


def _account_id(subject: str) -> int | None:
    """The user id a store `sub` names (decimal, as ID tokens carry it), else None."""
    if not subject.isascii() or not subject.isdigit() or subject != str(int(subject)):
        return None
    value = int(subject)
    return value if 0 < value < 2**31 else None


async def _confirmed_accounts(session: AsyncSession, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    found = await session.scalars(
        select(col(User.id)).where(col(User.id).in_(ids), col(User.confirmed).is_(True))
    )
    return {user_id for user_id in found if user_id is not None}


async def _signed_in_to_hub(session: AsyncSession, client_id: str, ids: set[int]) -> set[int]:
    """Those of `ids` this hub knows through the store's OIDC: the account that registered
    it, an account that consented to it (remembered until revoked) or one of whom it holds
    an unrevoked token. Any other confirmed account is a stranger to this hub: letting it
    in would give it person-token rights to a home it never signed in to."""
    if not ids:
        return set()
    owner = await session.scalar(
        select(col(OAuthClient.owner_user_id)).where(col(OAuthClient.client_id) == client_id)
    )
    consented = await session.scalars(
        select(col(Consent.user_id)).where(
            col(Consent.client_id) == client_id, col(Consent.user_id).in_(ids)
        )
    )
    holding = await session.scalars(
        select(col(OAuthToken.user_id))
        .where(
            col(OAuthToken.client_id) == client_id,
            col(OAuthToken.user_id).in_(ids),
            col(OAuthToken.revoked_at).is_(None),
        )
        .distinct()
    )
    known = set(consented) | set(holding) | ({owner} if owner is not None else set())
    return ids & known


def _why_ignored(subjects: Sequence[str], accounts: set[int], let_in: set[int]) -> dict[str, str]:
    ignored: dict[str, str] = {}
    for subject in subjects:
        user_id = _account_id(subject)
        if user_id in let_in:
            continue
        ignored[subject] = IGNORED_NOT_SIGNED_IN if user_id in accounts else IGNORED_NOT_AN_ACCOUNT
    return ignored


async def _members(session: AsyncSession, client_id: str) -> set[int]:
    rows = await session.scalars(
        select(col(RemoteMember.user_id)).where(col(RemoteMember.client_id) == client_id)
    )
    return set(rows)


async def update_hub_session(
    session: AsyncSession, client_id: str, enabled: bool, subjects: Sequence[str]
) -> HubSessionOutcome:
    """Record the hub's switch and members (in the caller's transaction).

    Only confirmed accounts that signed in to this hub through the store are let in; the
    other subjects are ignored and reported with the reason. Turning remote access off
    forgets every member and ends the hub's own connection too.
    """
    wanted_ids = {user_id for s in subjects if (user_id := _account_id(s)) is not None}
    accounts = await _confirmed_accounts(session, wanted_ids) if enabled else set()
    real = await _signed_in_to_hub(session, client_id, accounts)
    ignored = _why_ignored(subjects, accounts, real)
    hub = await session.get(RemoteHub, client_id)
    if hub is None:
        hub = RemoteHub(client_id=client_id)
        session.add(hub)
    hub.enabled, hub.updated_at = enabled, utcnow()
    await session.flush()
    before = await _members(session, client_id)
    removed, added = before - real, real - before
    if removed:
        await session.execute(
            delete(RemoteMember).where(
                col(RemoteMember.client_id) == client_id, col(RemoteMember.user_id).in_(removed)
            )
        )
    session.add_all(RemoteMember(client_id=client_id, user_id=user_id) for user_id in added)
    await session.flush()
    lost = {person_subject(user_id) for user_id in removed}
    if not enabled:
        lost.add(hub_subject(client_id))
        ignored = {}
    _LOGGER.info(
        "hub %s: remote access %s, %s members (%s added, %s removed, %s ignored)",
        client_id,
        "on" if enabled else "off",
        len(real),
        len(added),
        len(removed),
        len(ignored),
    )
    if ignored:  # the reasons, not the subjects: those are the hub's text
        _LOGGER.info("hub %s: members ignored: %s", client_id, sorted(set(ignored.values())))
    return HubSessionOutcome(enabled, frozenset(real), ignored, frozenset(lost))


async def homes_of(session: AsyncSession, user_id: int) -> list[Home]:
    """The hubs that let this account in remotely now, by name."""
    rows = await session.execute(
        select(col(OAuthClient.client_id), col(OAuthClient.name))
        .join(RemoteHub, col(RemoteHub.client_id) == col(OAuthClient.client_id))
        .join(RemoteMember, col(RemoteMember.client_id) == col(RemoteHub.client_id))
        .where(col(RemoteMember.user_id) == user_id, col(RemoteHub.enabled).is_(True))
        .order_by(col(OAuthClient.name), col(OAuthClient.client_id))
    )
    return [Home(hub, name) for hub, name in rows.all()]


async def entitled_subjects(session: AsyncSession, subjects: Iterable[str]) -> set[str]:
    """Those of `subjects` that still have a right to the broker: a hub with remote access
    on, a person some such hub lets in. Subjects of neither form are not ours to judge and
    count as entitled (the broker's own administrators, say)."""
    hubs: dict[str, str] = {}
    people: dict[int, str] = {}
    entitled: set[str] = set()
    for subject in subjects:
        if subject.startswith(HUB_SUBJECT_PREFIX):
            hubs[subject.removeprefix(HUB_SUBJECT_PREFIX)] = subject
        elif subject.startswith(PERSON_SUBJECT_PREFIX) and (
            user_id := _account_id(subject.removeprefix(PERSON_SUBJECT_PREFIX))
        ):
            people[user_id] = subject
        elif not subject.startswith(PERSON_SUBJECT_PREFIX):
            entitled.add(subject)
    if hubs:
        on = await session.scalars(
            select(col(RemoteHub.client_id)).where(
                col(RemoteHub.client_id).in_(hubs), col(RemoteHub.enabled).is_(True)
            )
        )
        entitled.update(hubs[client_id] for client_id in on)
    if people:
        let_in = await session.scalars(
            select(col(RemoteMember.user_id))
            .join(RemoteHub, col(RemoteHub.client_id) == col(RemoteMember.client_id))
            .where(col(RemoteMember.user_id).in_(people), col(RemoteHub.enabled).is_(True))
        )
        entitled.update(people[user_id] for user_id in let_in)
    return entitled


async def forget_hub(session: AsyncSession, client_id: str) -> set[str]:
    """Before a hub is unlinked: its remote switch and members go. Returns the subjects
    whose rights end: the hub's own and those of the people it let in."""
    members = await _members(session, client_id)
    await session.execute(delete(RemoteMember).where(col(RemoteMember.client_id) == client_id))
    await session.execute(delete(RemoteHub).where(col(RemoteHub.client_id) == client_id))
    return {hub_subject(client_id)} | {person_subject(user_id) for user_id in members}


async def forget_account(session: AsyncSession, user_id: int) -> set[str]:
    """Before the account goes: its memberships, and the remote access of the hubs it
    registered (they are unlinked with it). Returns the subjects whose rights end."""
    owned = list(
        await session.scalars(
            select(col(OAuthClient.client_id)).where(col(OAuthClient.owner_user_id) == user_id)
        )
    )
    lost = {person_subject(user_id)} | {hub_subject(client_id) for client_id in owned}
    if owned:
        members = await session.scalars(
            select(col(RemoteMember.user_id)).where(col(RemoteMember.client_id).in_(owned))
        )
        lost.update(person_subject(member) for member in members)
        await session.execute(delete(RemoteHub).where(col(RemoteHub.client_id).in_(owned)))
    await session.execute(delete(RemoteMember).where(col(RemoteMember.user_id) == user_id))
    return lost
