"""The provider's grants in the database (clients, codes, tokens, device grants, consents),
as async functions over one session each.

Single-use rules are enforced here with conditional updates (`... WHERE used_at IS NULL`)
so that two concurrent requests cannot both spend the same code or device grant (refresh
tokens and bearer lookups, the hot paths, are cloud/oauth/token_rows.py's).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.models import User
from cloud.db import affected_rows, utcnow
from cloud.oauth.const import SLOW_DOWN_STEP_SECONDS
from cloud.oauth.models import (
    AuthorizationCode,
    Consent,
    DeviceGrant,
    OAuthClient,
    OAuthToken,
)
from cloud.security import token_hash

PURGE_GRACE = timedelta(hours=1)


def new_family_id() -> str:
    return secrets.token_hex(16)


async def get_client(session: AsyncSession, client_id: str) -> OAuthClient | None:
    return await session.get(OAuthClient, client_id)


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    user = await session.get(User, user_id)
    return user if user is not None and user.confirmed else None


async def add_code(session: AsyncSession, code: str, row: AuthorizationCode) -> None:
    row.code_hash = token_hash(code)
    session.add(row)
    await session.flush()


@dataclass(frozen=True)
class CodeLookup:
    code: AuthorizationCode | None
    replayed_family: str | None = None


async def find_code(session: AsyncSession, code: str, client_id: str) -> CodeLookup:
    row = await session.get(AuthorizationCode, token_hash(code))
    if row is None or row.client_id != client_id or row.expires_at <= utcnow():
        return CodeLookup(None)
    if row.used_at is not None:
        return CodeLookup(None, replayed_family=row.family_id)
    return CodeLookup(row)


async def spend_code(session: AsyncSession, code_hash: str, family_id: str | None) -> bool:
    """Mark the code used; False when another request spent it first."""
    result = await session.execute(
        update(AuthorizationCode)
        .where(
            col(AuthorizationCode.code_hash) == code_hash, col(AuthorizationCode.used_at).is_(None)
        )
        .values(used_at=utcnow(), family_id=family_id)
    )
    return affected_rows(result) == 1


async def nonce_was_used(session: AsyncSession, client_id: str, nonce: str) -> bool:
    found = await session.scalar(
        select(func.count())
        .select_from(AuthorizationCode)
        .where(col(AuthorizationCode.client_id) == client_id, col(AuthorizationCode.nonce) == nonce)
    )
    return bool(found)


async def add_token(session: AsyncSession, row: OAuthToken) -> None:
    # A Core insert: the row is not read back, and the unit of work costs more than it.
    await session.execute(insert(OAuthToken), [row.model_dump(exclude={"id"})])


async def revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(
        update(OAuthToken)
        .where(col(OAuthToken.family_id) == family_id, col(OAuthToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


async def find_any_token(session: AsyncSession, token: str) -> OAuthToken | None:
    digest = token_hash(token)
    return await session.scalar(
        select(OAuthToken).where(
            or_(
                col(OAuthToken.access_token_hash) == digest,
                col(OAuthToken.refresh_token_hash) == digest,
            )
        )
    )


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Forget what can no longer be used: old codes, device grants and dead tokens.

    Tokens are kept until their refresh token would have expired, so that a replay of
    a rotated one is still recognised (and revokes its family) while it matters.
    """
    removed = 0
    for statement in (
        delete(AuthorizationCode).where(col(AuthorizationCode.expires_at) < now - PURGE_GRACE),
        delete(DeviceGrant).where(col(DeviceGrant.expires_at) < now - PURGE_GRACE),
        delete(OAuthToken).where(
            col(OAuthToken.access_expires_at) < now - PURGE_GRACE,
            or_(
                col(OAuthToken.refresh_expires_at).is_(None),
                col(OAuthToken.refresh_expires_at) < now - PURGE_GRACE,
            ),
        ),
    ):
        result = await session.execute(statement)
        removed += affected_rows(result)
    return removed


# Device authorization (RFC 8628)


def normalise_user_code(raw: str) -> str:
    """Users type codes with spaces, dashes or lower case: keep the letters only."""
    letters = "".join(ch for ch in raw.upper() if ch.isalnum())
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == 8 else letters


async def add_device_grant(session: AsyncSession, device_code: str, row: DeviceGrant) -> None:
    row.device_code_hash = token_hash(device_code)
    session.add(row)
    await session.flush()


async def find_device_grant(session: AsyncSession, device_code: str) -> DeviceGrant | None:
    return await session.get(DeviceGrant, token_hash(device_code))


async def record_poll(
    session: AsyncSession, code_hash: str, polled_at: datetime, too_fast: bool
) -> None:
    """Note a poll; one that came too soon lengthens the interval (RFC 8628 §3.5)."""
    values: dict[str, object] = {"last_polled_at": polled_at}
    if too_fast:
        values["interval"] = DeviceGrant.interval + SLOW_DOWN_STEP_SECONDS
    await session.execute(
        update(DeviceGrant).where(col(DeviceGrant.device_code_hash) == code_hash).values(**values)
    )


async def spend_device_grant(session: AsyncSession, code_hash: str) -> bool:
    result = await session.execute(
        update(DeviceGrant)
        .where(
            col(DeviceGrant.device_code_hash) == code_hash, col(DeviceGrant.consumed_at).is_(None)
        )
        .values(consumed_at=utcnow())
    )
    return affected_rows(result) == 1


async def pending_device_grant(session: AsyncSession, user_code: str) -> DeviceGrant | None:
    """A grant the owner can still decide on: known, undecided, unexpired."""
    row = await session.scalar(
        select(DeviceGrant).where(col(DeviceGrant.user_code) == normalise_user_code(user_code))
    )
    if row is None or row.approved is not None or row.expires_at <= utcnow():
        return None
    return row


async def decide_device_grant(
    session: AsyncSession, user_code: str, user_id: int, approved: bool
) -> DeviceGrant | None:
    row = await pending_device_grant(session, user_code)
    if row is None:
        return None
    result = await session.execute(
        update(DeviceGrant)
        .where(
            col(DeviceGrant.device_code_hash) == row.device_code_hash,
            col(DeviceGrant.approved).is_(None),
        )
        .values(approved=approved, user_id=user_id)
    )
    return row if affected_rows(result) == 1 else None


# Consent and the account page


async def consented_scope(session: AsyncSession, user_id: int, client_id: str) -> set[str]:
    row = await session.get(Consent, (user_id, client_id))
    return set(row.scope.split()) if row else set()


async def save_consent(session: AsyncSession, user_id: int, client_id: str, scope: str) -> None:
    row = await session.get(Consent, (user_id, client_id))
    merged = " ".join(sorted(set(scope.split()) | (set(row.scope.split()) if row else set())))
    if row is None:
        session.add(Consent(user_id=user_id, client_id=client_id, scope=merged))
    else:
        row.scope = merged
        row.granted_at = utcnow()
    await session.flush()


@dataclass(frozen=True)
class ClientAccess:
    client_id: str
    name: str
    scope: str
    since: datetime


async def clients_with_access(session: AsyncSession, user_id: int) -> list[ClientAccess]:
    """Clients holding live tokens (or a remembered consent) of this user."""
    now = utcnow()
    live = (
        await session.execute(
            select(
                col(OAuthClient.client_id),
                col(OAuthClient.name),
                col(OAuthToken.scope),
                col(OAuthToken.issued_at),
            )
            .join(OAuthToken, col(OAuthToken.client_id) == col(OAuthClient.client_id))
            .where(
                col(OAuthToken.user_id) == user_id,
                col(OAuthToken.revoked_at).is_(None),
                col(OAuthToken.rotated_at).is_(None),
                or_(
                    col(OAuthToken.access_expires_at) > now,
                    col(OAuthToken.refresh_expires_at) > now,
                ),
            )
            .order_by(col(OAuthToken.issued_at))
        )
    ).all()
    access: dict[str, ClientAccess] = {}
    for client_id, name, scope, issued_at in live:
        known = access.get(client_id)
        scopes = " ".join(sorted(set(scope.split()) | set(known.scope.split() if known else ())))
        access[client_id] = ClientAccess(
            client_id, name, scopes, known.since if known else issued_at
        )
    consents = (
        await session.execute(
            select(
                col(OAuthClient.client_id),
                col(OAuthClient.name),
                col(Consent.scope),
                col(Consent.granted_at),
            )
            .join(Consent, col(Consent.client_id) == col(OAuthClient.client_id))
            .where(col(Consent.user_id) == user_id)
        )
    ).all()
    for client_id, name, scope, granted_at in consents:
        access.setdefault(client_id, ClientAccess(client_id, name, scope, granted_at))
    return sorted(access.values(), key=lambda item: item.since)


async def revoke_client_access(session: AsyncSession, user_id: int, client_id: str) -> int:
    """Revoke every token of this user held by this client and forget the consent."""
    result = await session.execute(
        update(OAuthToken)
        .where(
            col(OAuthToken.user_id) == user_id,
            col(OAuthToken.client_id) == client_id,
            col(OAuthToken.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    await session.execute(
        delete(Consent).where(col(Consent.user_id) == user_id, col(Consent.client_id) == client_id)
    )
    return affected_rows(result)
