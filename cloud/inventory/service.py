"""Stock operations: import, reserve for an open invoice, release, allocate on settlement.

Every change is a conditional UPDATE or a unique row inside the caller's transaction, so
concurrent checkouts, webhooks and reconcilers cannot hand one unit to two orders.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.db import affected_rows, insert_rows, utcnow
from cloud.inventory.models import Ownership, StockUnit
from cloud.inventory.sealing import unseal

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class OwnedUnit:
    serial: str
    sku: str
    claim_secret: bytes
    order_id: str


# A unit is free (in stock) while no open invoice holds it and nobody has bought it.
UNIT_IS_FREE = (col(StockUnit.order_id).is_(None), col(StockUnit.sold_at).is_(None))
# Built once: these run on every checkout, and building statements per call was a large
# share of the checkout's CPU time.
_FREE_UNITS = (
    select(col(StockUnit.id))
    .where(col(StockUnit.sku) == bindparam("b_sku"), *UNIT_IS_FREE)
    .order_by(col(StockUnit.id))
    .limit(bindparam("b_wanted"))
)
_COUNT_FREE_UNITS = (
    select(func.count())
    .select_from(StockUnit)
    .where(col(StockUnit.sku) == bindparam("b_sku"), *UNIT_IS_FREE)
)
_LOCK_FREE_UNITS = _FREE_UNITS.with_for_update(skip_locked=True)
# Marks the statements that turn free units of `b_sku` into held ones, one per updated
# row: the product pages' counts (availability.py) follow them without counting again.
HOLDS_FREE_UNITS = "ethos_holds_free_units"
_HOLD_UNITS = (
    update(StockUnit)
    .where(
        col(StockUnit.id).in_(bindparam("b_ids", expanding=True)),
        col(StockUnit.sku) == bindparam("b_sku"),
        col(StockUnit.order_id).is_(None),
    )
    .values(order_id=bindparam("b_order"))
    .execution_options(synchronize_session=False, **{HOLDS_FREE_UNITS: True})
)
# SQLite runs one writer at a time and materialises the IN list before updating, so one
# statement picks and holds the units.
_HOLD_FREE_UNITS = (
    update(StockUnit)
    .where(col(StockUnit.id).in_(_FREE_UNITS.scalar_subquery()), col(StockUnit.order_id).is_(None))
    .values(order_id=bindparam("b_order"))
    .execution_options(synchronize_session=False, **{HOLDS_FREE_UNITS: True})
)

# Settling an order runs these (the webhook's hot path).
_HELD_UNITS = (
    select(col(StockUnit.id))
    .where(
        col(StockUnit.order_id) == bindparam("b_order"), col(StockUnit.sku) == bindparam("b_sku")
    )
    .order_by(col(StockUnit.id))
)
_SELL_UNITS = (
    update(StockUnit)
    .where(
        col(StockUnit.id).in_(bindparam("b_ids", expanding=True)),
        col(StockUnit.sold_at).is_(None),
    )
    .values(sold_at=bindparam("b_now"))
    .execution_options(synchronize_session=False)
)
_SERIALS_OF_ORDERS = (
    select(col(Ownership.order_id), col(StockUnit.serial))
    .join(StockUnit, col(StockUnit.id) == col(Ownership.unit_id))
    .where(col(Ownership.order_id).in_(bindparam("b_orders", expanding=True)))
    .order_by(col(StockUnit.serial))
)


async def available_count(session: AsyncSession, sku: str) -> int:
    return int(await session.scalar(_COUNT_FREE_UNITS, {"b_sku": sku}) or 0)


async def reserve_units(session: AsyncSession, order_id: str, sku: str, quantity: int) -> int:
    """Hold up to `quantity` free units of `sku` for the order; returns how many it got.

    On PostgreSQL, candidates are locked with SKIP LOCKED, so concurrent buyers pick
    different units; the UPDATE re-checks that each is still free, and a short count
    retries. (Not one `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE)` there:
    PostgreSQL may re-run such a subquery and update more than n rows.)
    """
    if session.get_bind().dialect.name == "sqlite":
        params = {"b_sku": sku, "b_wanted": quantity, "b_order": order_id}
        return affected_rows(await session.execute(_HOLD_FREE_UNITS, params))
    held = 0
    while held < quantity:
        candidates = list(
            await session.scalars(_LOCK_FREE_UNITS, {"b_sku": sku, "b_wanted": quantity - held})
        )
        if not candidates:
            break
        result = await session.execute(
            _HOLD_UNITS, {"b_ids": candidates, "b_sku": sku, "b_order": order_id}
        )
        held += affected_rows(result)
    return held


async def release_units(session: AsyncSession, order_id: str) -> int:
    """Give back the units an order held but never bought."""
    result = await session.execute(
        update(StockUnit)
        .where(col(StockUnit.order_id) == order_id, col(StockUnit.sold_at).is_(None))
        .values(order_id=None)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result)


async def return_units_to_stock(session: AsyncSession, order_id: str) -> int:
    """An order cancelled before shipping: its units are nobody's and on sale again."""
    await session.execute(
        delete(Ownership)
        .where(col(Ownership.order_id) == order_id)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(
        update(StockUnit)
        .where(col(StockUnit.order_id) == order_id)
        .values(order_id=None, sold_at=None)
        .execution_options(synchronize_session=False)
    )
    returned = affected_rows(result)
    _LOGGER.info("order %s: %d units back in stock", order_id, returned)
    return returned


async def held_units(session: AsyncSession, order_id: str, sku: str) -> list[int]:
    return list(await session.scalars(_HELD_UNITS, {"b_order": order_id, "b_sku": sku}))


async def allocate_units_for_settled_order(
    session: AsyncSession,
    order_id: str,
    quantities: Mapping[str, int],
    user_id: int | None,
    email: str,
) -> bool:
    """Sell the units held for a settled order and record ownership.

    Units released earlier (the invoice expired, then was paid or marked) are re-reserved
    if stock remains. Returns False, selling nothing, when stock cannot cover the order.
    """
    unit_ids: list[int] = []
    for sku, quantity in quantities.items():
        held = await held_units(session, order_id, sku)
        if len(held) < quantity:
            await reserve_units(session, order_id, sku, quantity - len(held))
            held = await held_units(session, order_id, sku)
        if len(held) < quantity:
            return False
        unit_ids.extend(held[:quantity])
    now = utcnow()
    await session.execute(_SELL_UNITS, {"b_ids": unit_ids, "b_now": now})
    # The unique unit_id makes a second allocation of the same unit fail the transaction.
    await insert_rows(
        session,
        *(
            Ownership(unit_id=unit_id, order_id=order_id, user_id=user_id, email=email)
            for unit_id in unit_ids
        ),
    )
    _LOGGER.info("order %s: %d units allocated", order_id, len(unit_ids))
    return True


async def owned_units(session: AsyncSession, secret_key: str, user_id: int) -> list[OwnedUnit]:
    rows = await session.execute(
        select(StockUnit, col(Ownership.order_id))
        .join(Ownership, col(Ownership.unit_id) == col(StockUnit.id))
        .where(col(Ownership.user_id) == user_id)
        .order_by(StockUnit.serial)
    )
    return [
        OwnedUnit(
            serial=unit.serial,
            sku=unit.sku,
            claim_secret=unseal(secret_key, unit.serial, unit.sealed_claim_secret),
            order_id=order_id,
        )
        for unit, order_id in rows
    ]


async def units_of_orders(session: AsyncSession, order_ids: Iterable[str]) -> dict[str, list[str]]:
    """Serials sold to each order (for order pages)."""
    rows = await session.execute(_SERIALS_OF_ORDERS, {"b_orders": list(order_ids)})
    serials: dict[str, list[str]] = {}
    for order_id, serial in rows:
        serials.setdefault(order_id, []).append(serial)
    return serials


async def attach_guest_ownerships(session: AsyncSession, user_id: int, email: str) -> int:
    result = await session.execute(
        update(Ownership)
        .where(col(Ownership.email) == email, col(Ownership.user_id).is_(None))
        .values(user_id=user_id)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result)
