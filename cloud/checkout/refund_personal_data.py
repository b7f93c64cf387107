"""Refunds in the buyer's data export: the refunds of their orders and how far each is.

Refund rows hold no personal data themselves and stay for accounting when an account is
deleted (its orders are kept without the buyer); the operator who made a refund
(`refunds.operator_id`) is the console's personal data (cloud/admin/personal_data.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
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
    return {"refunds_to_you": [_row(r) for r in received]}


async def preview_refunds(session: AsyncSession, subject: DataSubject) -> list[str]:
    return []  # the orders section says what happens to orders and their money


async def keep_refunds(session: AsyncSession, subject: DataSubject) -> None:
    """Nothing to erase: the orders' erasure removes the buyer these refunds belong to."""


REFUNDS_HOLDER = PersonalDataHolder(
    section="refunds",
    columns=frozenset(),
    export=export_refunds,
    preview=preview_refunds,
    erase=keep_refunds,
)
