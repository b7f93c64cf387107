"""Operators: the role on the account, its TOTP enrolment, recovery codes, and which browser
sessions passed the second factor. Domain code: no aiohttp here."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.models import User
from cloud.admin import totp
from cloud.admin.audit import COMMAND_LINE, record
from cloud.admin.models import OperatorTotp, RecoveryCode, SecondFactorSession
from cloud.db import utcnow
from cloud.sealing import seal, unseal
from cloud.security import token_hash

PURPOSE_OPERATOR_TOTP = "ethos operator totp v1"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (l/1, o/0, i)
_RECOVERY_LENGTH = 12


class NoSuchAccount(LookupError):
    """The email names no account."""


async def _user_by_email(session: AsyncSession, email: str) -> User:
    user = await session.scalar(select(User).where(col(User.email) == email.strip().lower()))
    if user is None or user.id is None:
        raise NoSuchAccount(email)
    return user


async def grant(session: AsyncSession, email: str, actor: str = COMMAND_LINE) -> bool:
    """Give the account the operator role; False when it already had it."""
    user = await _user_by_email(session, email)
    if user.is_operator:
        return False
    user.is_operator = True
    await record(session, actor, "operator.granted", f"user:{user.id}", {"email": user.email})
    return True


async def revoke(session: AsyncSession, email: str, actor: str = COMMAND_LINE) -> bool:
    """Take the role away, with its second factor (a new grant enrols afresh)."""
    user = await _user_by_email(session, email)
    if not user.is_operator:
        return False
    user.is_operator = False
    for table in (SecondFactorSession, RecoveryCode, OperatorTotp):
        await session.execute(delete(table).where(col(table.user_id) == user.id))
    await record(session, actor, "operator.revoked", f"user:{user.id}", {"email": user.email})
    return True


class Enrolment(Enum):
    NONE = "none"
    PENDING = "pending"  # a secret was shown, no code has confirmed it yet
    CONFIRMED = "confirmed"


async def enrolment(session: AsyncSession, user_id: int) -> Enrolment:
    row = await session.get(OperatorTotp, user_id)
    if row is None:
        return Enrolment.NONE
    return Enrolment.CONFIRMED if row.confirmed_at else Enrolment.PENDING


def _context(user_id: int) -> str:
    return f"operator:{user_id}"


async def pending_secret(session: AsyncSession, secret_key: str, user_id: int) -> bytes:
    """The secret being enrolled (made on first call, kept sealed until confirmed)."""
    row = await session.get(OperatorTotp, user_id)
    if row is not None:
        if row.confirmed_at is not None:
            raise ValueError("this operator's second factor is already enrolled")
        return unseal(secret_key, PURPOSE_OPERATOR_TOTP, _context(user_id), row.sealed_secret)
    secret = totp.new_secret()
    sealed = seal(secret_key, PURPOSE_OPERATOR_TOTP, _context(user_id), secret)
    session.add(OperatorTotp(user_id=user_id, sealed_secret=sealed))
    await session.flush()
    return secret


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _normalise_recovery(code: str) -> str:
    return "".join(code.lower().split()).replace("-", "")


async def confirm_enrolment(
    session: AsyncSession, secret_key: str, user_id: int, code: str
) -> list[str] | None:
    """Confirm the pending secret with a code; returns the recovery codes (shown once, only
    their hashes kept), or None when the code is wrong."""
    row = await session.get(OperatorTotp, user_id, with_for_update=True)
    if row is None or row.confirmed_at is not None:
        return None
    secret = unseal(secret_key, PURPOSE_OPERATOR_TOTP, _context(user_id), row.sealed_secret)
    step = totp.matching_step(secret, code, row.last_step)
    if step is None:
        return None
    row.last_step = step
    row.confirmed_at = utcnow()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    await session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    for plain in codes:
        session.add(RecoveryCode(code_hash=token_hash(_normalise_recovery(plain)), user_id=user_id))
    return codes


async def check_second_factor(
    session: AsyncSession, secret_key: str, user_id: int, code: str
) -> str | None:
    """Check a TOTP code (never the same one twice) or an unused recovery code (then used
    up). Returns "totp" or "recovery code", or None when the code is wrong."""
    row = await session.get(OperatorTotp, user_id, with_for_update=True)
    if row is None or row.confirmed_at is None:
        return None
    secret = unseal(secret_key, PURPOSE_OPERATOR_TOTP, _context(user_id), row.sealed_secret)
    step = totp.matching_step(secret, code, row.last_step)
    if step is not None:
        row.last_step = step
        return "totp"
    recovery = _normalise_recovery(code)
    if len(recovery) != _RECOVERY_LENGTH:
        return None
    used = await session.scalar(
        select(RecoveryCode).where(
            col(RecoveryCode.code_hash) == token_hash(recovery),
            col(RecoveryCode.user_id) == user_id,
            col(RecoveryCode.used_at).is_(None),
        )
    )
    if used is None:
        return None
    used.used_at = utcnow()
    return "recovery code"


async def remaining_recovery_codes(session: AsyncSession, user_id: int) -> int:
    rows = await session.scalars(
        select(col(RecoveryCode.code_hash)).where(
            col(RecoveryCode.user_id) == user_id, col(RecoveryCode.used_at).is_(None)
        )
    )
    return len(rows.all())


async def mark_session_verified(session: AsyncSession, session_token: str, user_id: int) -> None:
    session_hash = token_hash(session_token)
    await session.execute(
        delete(SecondFactorSession).where(col(SecondFactorSession.session_hash) == session_hash)
    )
    session.add(SecondFactorSession(session_hash=session_hash, user_id=user_id))


async def session_verified(session: AsyncSession, session_token: str, user_id: int) -> bool:
    row = await session.get(SecondFactorSession, token_hash(session_token))
    return row is not None and row.user_id == user_id


@dataclass(frozen=True)
class OperatorState:
    enrolment: Enrolment
    verified: bool
