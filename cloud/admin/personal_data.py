"""What the console keeps about an account: the operator's second factor, and the audit
log of what the operator did.

An operator cannot delete their account from the account page: the role is revoked first
(`ethos cloud admin revoke EMAIL`). The audit log is append-only by design (the record of
who did what to orders, stock and refunds), so the entries naming a former operator stay,
as the store's accountability requires; everything else (the TOTP secret, recovery codes,
second-factor sessions) is deleted with the account.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.models import User
from cloud.accounts.personal_data import DataSubject, PersonalDataHolder, iso
from cloud.admin.models import AuditEntry, OperatorTotp, RecoveryCode, SecondFactorSession
from cloud.checkout.models import Refund
from cloud.domain import Refusal

STILL_OPERATOR = Refusal(
    "still_operator",
    "This account holds the operator role: an administrator revokes it first "
    "(ethos cloud admin revoke EMAIL).",
    409,
)


async def export_console(session: AsyncSession, subject: DataSubject) -> dict[str, Any]:
    user = await session.get(User, subject.user_id)
    totp = await session.get(OperatorTotp, subject.user_id)
    entries = await session.scalars(
        select(AuditEntry)
        # The address too: SQLite may give a deleted operator's id to a new account.
        .where(
            col(AuditEntry.actor_id) == subject.user_id,
            col(AuditEntry.actor_email) == subject.email,
        )
        .order_by(col(AuditEntry.id))
    )
    return {
        "operator": bool(user is not None and user.is_operator),
        "second_factor_enrolled_at": iso(totp.confirmed_at) if totp else None,
        "actions_taken": [
            {
                "at": iso(entry.at),
                "action": entry.action,
                "target": entry.target,
                "details": json.loads(entry.details or "{}"),
            }
            for entry in entries
        ],
    }


async def preview_console(session: AsyncSession, subject: DataSubject) -> list[str]:
    return []  # only operators have console data, and they cannot delete from here


async def refuse_operators(session: AsyncSession, subject: DataSubject) -> Refusal | None:
    user = await session.get(User, subject.user_id)
    return STILL_OPERATOR if user is not None and user.is_operator else None


async def erase_console(session: AsyncSession, subject: DataSubject) -> None:
    for model in (SecondFactorSession, RecoveryCode, OperatorTotp):
        await session.execute(delete(model).where(col(model.user_id) == subject.user_id))
    # Refunds stay in the books; who approved one is in the (kept) audit log.
    await session.execute(
        update(Refund)
        .where(col(Refund.operator_id) == subject.user_id)
        .values(operator_id=None)
        .execution_options(synchronize_session=False)
    )


CONSOLE_HOLDER = PersonalDataHolder(
    section="operator",
    columns=frozenset(
        {
            "operator_totp.user_id",
            "operator_recovery_codes.user_id",
            "admin_second_factor_sessions.user_id",
            "operator_totp.sealed_secret",
            "refunds.operator_id",
            # Exported; kept on deletion (append-only accountability record, see above).
            "audit_log.actor_id",
            "audit_log.actor_email",
        }
    ),
    export=export_console,
    preview=preview_console,
    erase=erase_console,
    can_erase=refuse_operators,
)
