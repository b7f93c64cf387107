"""Stock operations: import, reserve for an open invoice, release, allocate on settlement.

Every change is a conditional UPDATE or a unique row inside the caller's transaction, so
concurrent checkouts, webhooks and reconcilers cannot hand one unit to two orders.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Select, Table, bindparam, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.db import affected_rows, insert_values, row_values, utcnow
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
# Built once, as Core statements on the tables: these run on every checkout and every
# settlement, and both building statements per call and the ORM's handling of entity
# statements (which only return plain values here) were a large share of their CPU time.
_UNITS: Table = StockUnit.__table__  # type: ignore[attr-defined]
_OWNERSHIPS: Table = Ownership.__table__  # type: ignore[attr-defined]
_FREE = (_UNITS.c.order_id.is_(None), _UNITS.c.sold_at.is_(None))
_FREE_UNITS = (
    select(_UNITS.c.id)
    .where(_UNITS.c.sku == bindparam("b_sku"), *_FREE)
    .order_by(_UNITS.c.id)
    .limit(bindparam("b_wanted"))
)
_COUNT_FREE_UNITS = (
    select(func.count()).select_from(_UNITS).where(_UNITS.c.sku == bindparam("b_sku"), *_FREE)
)
_LOCK_FREE_UNITS = _FREE_UNITS.with_for_update(skip_locked=True)
# Marks the statements that turn free units of `b_sku` into held ones, one per updated
# row: the product pages' counts (availability.py) follow them without counting again.
HOLDS_FREE_UNITS = "ethos_holds_free_units"
_HOLD_UNITS = (
    update(_UNITS)
    .where(
        _UNITS.c.id.in_(bindparam("b_ids", expanding=True)),
        _UNITS.c.sku == bindparam("b_sku"),
        _UNITS.c.order_id.is_(None),
    )
    .values(order_id=bindparam("b_order"))
    .execution_options(**{HOLDS_FREE_UNITS: True})
)
# SQLite runs one writer at a time and materialises the IN list before updating, so one
# statement picks and holds the units.
_HOLD_FREE_UNITS = (
    update(_UNITS)
    .where(_UNITS.c.id.in_(_FREE_UNITS.scalar_subquery()), _UNITS.c.order_id.is_(None))
    .values(order_id=bindparam("b_order"))
    .execution_options(**{HOLDS_FREE_UNITS: True})
)

# Settling an order runs these (the webhook's hot path).
_HELD_UNITS = (
    select(_UNITS.c.id, _UNITS.c.serial)
    .where(_UNITS.c.order_id == bindparam("b_order"), _UNITS.c.sku == bindparam("b_sku"))
    .order_by(_UNITS.c.id)
)
_SELL_UNITS = (
    update(_UNITS)
    .where(_UNITS.c.id.in_(bindparam("b_ids", expanding=True)), _UNITS.c.sold_at.is_(None))
    .values(sold_at=bindparam("b_now"))
)
# The units the order holds, sold (the settlement's usual case; see its fallback).
_SELL_HELD_UNITS = (
    update(_UNITS)
    .where(_UNITS.c.order_id == bindparam("b_order"), _UNITS.c.sold_at.is_(None))
    .values(sold_at=bindparam("b_now"))
    .returning(_UNITS.c.id, _UNITS.c.sku, _UNITS.c.serial)
)
_UNSELL_UNITS = (
    update(_UNITS).where(_UNITS.c.id.in_(bindparam("b_ids", expanding=True))).values(sold_at=None)
)
_SERIALS_OF_ORDERS = (
    select(_OWNERSHIPS.c.order_id, _UNITS.c.serial)
    .join(_UNITS, _UNITS.c.id == _OWNERSHIPS.c.unit_id)
    .where(_OWNERSHIPS.c.order_id.in_(bindparam("b_orders", expanding=True)))
    .order_by(_UNITS.c.serial)
)


@functools.lru_cache(maxsize=8)
def free_units_up_to(skus: tuple[str, ...], cap: int) -> Select:
    """One row: for each of `skus` in order, its free units counted up to `cap`.

    Each count stops at `cap` index entries (the partial index of free units), so its
    cost does not grow with the stock: counting every free unit of a well-stocked shop
    walked them all, on every count. One statement per SKU list and cap (building one of
    a dozen subqueries cost more than running it), so callers pass the catalog's tuple."""
    columns = []
    for index, sku in enumerate(skus):
        first_free = (
            select(literal(1))
            .select_from(_UNITS)
            .where(_UNITS.c.sku == sku, *_FREE)
            .limit(cap)
            .subquery()
        )
        columns.append(
            select(func.count()).select_from(first_free).scalar_subquery().label(f"c{index}")
        )
    return select(*columns)


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
    return [unit_id for unit_id, _serial in await _held(session, order_id, sku)]


async def _held(session: AsyncSession, order_id: str, sku: str) -> list[tuple[int, str]]:
    """(id, serial) of the units of `sku` held for the order, oldest first."""
    rows = await session.execute(_HELD_UNITS, {"b_order": order_id, "b_sku": sku})
    return [(unit_id, serial) for unit_id, serial in rows]


async def allocate_units_for_settled_order(
    session: AsyncSession,
    order_id: str,
    quantities: Mapping[str, int],
    user_id: int | None,
    email: str,
) -> list[str] | None:
    """Sell the units held for a settled order and record ownership; returns their serials
    (sorted, as `units_of_orders` lists them).

    Units released earlier (the invoice expired, then was paid or marked) are re-reserved
    if stock remains. Returns None, selling nothing, when stock cannot cover the order.
    """
    now = utcnow()
    # Nearly always the order holds exactly its units: sell them all in one statement.
    sold = (await session.execute(_SELL_HELD_UNITS, {"b_order": order_id, "b_now": now})).all()
    if Counter(sku for _unit_id, sku, _serial in sold) == Counter(quantities):
        unit_ids = [unit_id for unit_id, _sku, _serial in sold]
        serials = [serial for _unit_id, _sku, serial in sold]
    else:
        # Its invoice expired and released them (then was paid, or marked): give back
        # what was just sold, re-reserve what stock remains, sell what it then holds.
        if sold:
            await session.execute(_UNSELL_UNITS, {"b_ids": [row[0] for row in sold]})
        picked = await _hold_for_settlement(session, order_id, quantities)
        if picked is None:
            return None
        unit_ids = [unit_id for unit_id, _serial in picked]
        serials = [serial for _unit_id, serial in picked]
        await session.execute(_SELL_UNITS, {"b_ids": unit_ids, "b_now": now})
    # The unique unit_id makes a second allocation of the same unit fail the transaction.
    await insert_values(
        session,
        Ownership,
        *(
            row_values(Ownership, unit_id=unit_id, order_id=order_id, user_id=user_id, email=email)
            for unit_id in unit_ids
        ),
    )
    _LOGGER.info("order %s: %d units allocated", order_id, len(unit_ids))
    return sorted(serials)


async def _hold_for_settlement(
    session: AsyncSession, order_id: str, quantities: Mapping[str, int]
) -> list[tuple[int, str]] | None:
    """(id, serial) of the units to sell the order, re-reserving what it no longer holds;
    None when stock cannot cover it."""
    units: list[tuple[int, str]] = []
    for sku, quantity in quantities.items():
        held = await _held(session, order_id, sku)
        if len(held) < quantity:
            await reserve_units(session, order_id, sku, quantity - len(held))
            held = await _held(session, order_id, sku)
        if len(held) < quantity:
            return None
        units.extend(held[:quantity])
    return units


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
