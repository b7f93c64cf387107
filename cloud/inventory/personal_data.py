"""The account's devices as personal data: exported (without claim secrets), released on
deletion.

Claim secrets are left out of the export on purpose: they are the device's credential
(its broker password and its proof of ownership are derived from them), not facts about
the person, and an export file is made to be kept and handed to other services. The owner
still reads them where they are used: the `devices` scope of the API, for their own hub.

A released unit stays sold (its `sold_at` and `order_id` record the sale for accounting)
and is not put back on sale: it is in its former owner's hands, not our warehouse. No
account owns it any more, so no hub is told about it or given its secret.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.personal_data import DataSubject, PersonalDataHolder, iso, listing, plural
from cloud.inventory.models import Ownership, StockUnit


def _of(subject: DataSubject) -> Any:
    return or_(
        col(Ownership.user_id) == subject.user_id,
        and_(col(Ownership.user_id).is_(None), col(Ownership.email) == subject.email),
    )


async def _owned(session: AsyncSession, subject: DataSubject) -> list[tuple[StockUnit, Ownership]]:
    rows = await session.execute(
        select(StockUnit, Ownership)
        .join(Ownership, col(Ownership.unit_id) == col(StockUnit.id))
        .where(_of(subject))
        .order_by(col(StockUnit.serial))
    )
    return [(unit, ownership) for unit, ownership in rows.all()]


async def export_devices(session: AsyncSession, subject: DataSubject) -> list[dict[str, Any]]:
    return [
        {
            "serial": unit.serial,
            "sku": unit.sku,
            "order_id": ownership.order_id,
            "owned_since": iso(ownership.created_at),
            "claim_secret": "withheld: your hub reads it with the devices scope",
        }
        for unit, ownership in await _owned(session, subject)
    ]


async def preview_devices(session: AsyncSession, subject: DataSubject) -> list[str]:
    owned = await _owned(session, subject)
    if not owned:
        return ["You own no devices with us."]
    return [
        f"{plural(len(owned), 'device')} ({listing(unit.serial for unit, _ in owned)}) "
        "are released: no account owns them any more, so no hub learns about them from us. "
        "They stay recorded as sold in their order; they are not put back on sale."
    ]


async def erase_ownerships(session: AsyncSession, subject: DataSubject) -> None:
    await session.execute(delete(Ownership).where(_of(subject)))


DEVICES_HOLDER = PersonalDataHolder(
    section="devices",
    columns=frozenset({"ownerships.user_id", "ownerships.email"}),
    export=export_devices,
    preview=preview_devices,
    erase=erase_ownerships,
)
