"""Refunds as personal data: a buyer's refunds are exported with their money's progress;
an operator's refunds name them (`refunds.operator_id`), exported and, when the account
is deleted, unlinked (the append-only audit log keeps who refunded, as accountability
requires). Refund rows themselves hold no personal data and stay for accounting."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.personal_data import DataSubject, PersonalDataHolder, iso
from cloud.checkout.models import Order, Refund


def _row(refund: Refund) -> dict[str, Any]:
    return {
        "order_id": refund.order_id,
        "amount": str(refund.amount),
        "currency": refund.currency,
        "status": refund.status,
        "created_at": iso(refund.created_at),
        "paid_at": iso(refund.paid_at) if refund.paid_at else None,
    }


async def export_refunds(session: AsyncSession, subject: DataSubject) -> dict[str, Any]:
    mine = or_(
        col(Order.user_id) == subject.user_id,
        and_(col(Order.user_id).is_(None), col(Order.email) == subject.email),
    )
    received = await session.scalars(
        select(Refund)
        .join(Order, col(Order.id) == col(Refund.order_id))
        .where(mine, col(Order.erased_at).is_(None))
        .order_by(col(Refund.id))
    )
    made = await session.scalars(
        select(Refund).where(col(Refund.operator_id) == subject.user_id).order_by(col(Refund.id))
    )
    return {
        "refunds_to_you": [_row(r) for r in received],
        "refunds_you_made_as_operator": [_row(r) for r in made],
    }


async def preview_refunds(session: AsyncSession, subject: DataSubject) -> list[str]:
    return []  # the orders section says what happens to orders and their money


async def unlink_operator(session: AsyncSession, subject: DataSubject) -> None:
    await session.execute(
        update(Refund)
        .where(col(Refund.operator_id) == subject.user_id)
        .values(operator_id=None)
        .execution_options(synchronize_session=False)
    )


REFUNDS_HOLDER = PersonalDataHolder(
    section="refunds",
    columns=frozenset({"refunds.operator_id"}),
    export=export_refunds,
    preview=preview_refunds,
    erase=unlink_operator,
)
