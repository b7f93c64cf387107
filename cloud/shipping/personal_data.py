"""Shipping addresses as personal data: exported (unsealed) to their buyer, erased with the
account at once, whatever the countdown after delivery says."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.personal_data import DataSubject, PersonalDataHolder, iso, plural
from cloud.checkout.models import Order
from cloud.checkout.personal_data import orders_of_subject
from cloud.db import utcnow
from cloud.shipping.address import unseal_address
from cloud.shipping.models import ShippingAddress


def _subjects_orders(subject: DataSubject) -> Any:
    return select(col(Order.id)).where(orders_of_subject(subject))


async def _rows(session: AsyncSession, subject: DataSubject) -> list[ShippingAddress]:
    return list(
        await session.scalars(
            select(ShippingAddress)
            .where(col(ShippingAddress.order_id).in_(_subjects_orders(subject)))
            .order_by(col(ShippingAddress.created_at))
        )
    )


def shipping_holder(secret_key: str) -> PersonalDataHolder:
    """The holder; its export unseals with the store's key."""

    async def export(session: AsyncSession, subject: DataSubject) -> list[dict[str, Any]]:
        return [
            {
                "order_id": row.order_id,
                "address": unseal_address(secret_key, row.order_id, row.sealed).lines()
                if row.sealed
                else None,
                "erase_after": iso(row.erase_after),
                "erased_at": iso(row.erased_at),
            }
            for row in await _rows(session, subject)
        ]

    async def preview(session: AsyncSession, subject: DataSubject) -> list[str]:
        kept = [row for row in await _rows(session, subject) if row.sealed]
        if not kept:
            return []
        return [
            f"{plural(len(kept), 'shipping address', 'shipping addresses')} we keep are erased."
        ]

    async def erase(session: AsyncSession, subject: DataSubject) -> None:
        await session.execute(
            update(ShippingAddress)
            .where(
                col(ShippingAddress.order_id).in_(_subjects_orders(subject)),
                col(ShippingAddress.sealed).is_not(None),
            )
            .values(sealed=None, erased_at=utcnow())
            .execution_options(synchronize_session=False)
        )

    return PersonalDataHolder(
        section="shipping_addresses",
        columns=frozenset({"shipping_addresses.sealed"}),
        export=export,
        preview=preview,
        erase=erase,
    )
