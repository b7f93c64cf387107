"""Stock as operators see it: per product available / held / sold, a unit found by its
serial, a CSV import previewed before it is made, and low-stock alerts mailed once.

A product runs low when its unsold units (free, plus held by an open invoice) fall to its
threshold (its own, else ETHOS_LOW_STOCK_THRESHOLD). Operators are mailed once on the way
down; the alert re-arms only after stock rose above the threshold again (an import).
Counting unsold rather than free units keeps an invoice that opens and expires from
mailing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.models import User
from cloud.checkout.models import Order
from cloud.db import affected_rows, utcnow
from cloud.domain import InputErrors
from cloud.inventory.importer import ImportResult, StockImportError, import_stock
from cloud.inventory.models import Ownership, StockAlert, StockUnit
from cloud.mail.outbox import queue_mail

_LOGGER = logging.getLogger(__name__)

MAX_THRESHOLD = 10_000


@dataclass(frozen=True)
class StockLevel:
    sku: str
    name: str
    available: int
    held: int
    sold: int
    threshold: int
    own_threshold: bool  # set for this product (else the store's default)
    alerted_at: datetime | None

    @property
    def unsold(self) -> int:
        return self.available + self.held

    @property
    def low(self) -> bool:
        return self.unsold <= self.threshold


async def stock_levels(
    session: AsyncSession, products: Sequence[tuple[str, str]], default_threshold: int
) -> list[StockLevel]:
    """One row per catalog product (sku, name), in the catalog's order."""
    held = (col(StockUnit.order_id).is_not(None)) & (col(StockUnit.sold_at).is_(None))
    rows = await session.execute(
        select(
            col(StockUnit.sku),
            func.sum(case((col(StockUnit.order_id).is_(None), 1), else_=0)),
            func.sum(case((held, 1), else_=0)),
            func.sum(case((col(StockUnit.sold_at).is_not(None), 1), else_=0)),
        ).group_by(col(StockUnit.sku))
    )
    counts = {sku: (int(a or 0), int(h or 0), int(s or 0)) for sku, a, h, s in rows}
    alerts = {a.sku: a for a in await session.scalars(select(StockAlert))}
    levels = []
    for sku, name in products:
        available, on_hold, sold = counts.get(sku, (0, 0, 0))
        alert = alerts.get(sku)
        own_threshold = alert.threshold if alert is not None else None
        levels.append(
            StockLevel(
                sku=sku,
                name=name,
                available=available,
                held=on_hold,
                sold=sold,
                threshold=default_threshold if own_threshold is None else own_threshold,
                own_threshold=own_threshold is not None,
                alerted_at=alert.alerted_at if alert else None,
            )
        )
    return levels


def parse_threshold(raw: str | None) -> int | None:
    """A product's threshold from the console's form: a whole number, or empty for the
    store's default. InputErrors otherwise."""
    text = (raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > MAX_THRESHOLD:
        raise InputErrors({"threshold": f"Enter a whole number from 0 to {MAX_THRESHOLD}."})
    return int(text)


async def set_threshold(session: AsyncSession, sku: str, threshold: int | None) -> None:
    alert = await session.get(StockAlert, sku)
    if alert is None:
        session.add(StockAlert(sku=sku, threshold=threshold))
    else:
        alert.threshold = threshold
    await session.flush()


async def check_low_stock(
    session: AsyncSession,
    products: Sequence[tuple[str, str]],
    default_threshold: int,
    console_link: str,
) -> list[str]:
    """Mail every operator about each product that ran low since the last check (once),
    and re-arm the alert of products back above their threshold. Returns the SKUs mailed.
    """
    levels = await stock_levels(session, products, default_threshold)
    known = {a.sku for a in await session.scalars(select(StockAlert))}
    now = utcnow()
    newly_low: list[StockLevel] = []
    for level in levels:
        if level.low and level.sku not in known:
            session.add(StockAlert(sku=level.sku, alerted_at=now))
            newly_low.append(level)
        elif level.low:
            # Conditional: of two replicas checking at once, one mails.
            claimed = await session.execute(
                update(StockAlert)
                .where(col(StockAlert.sku) == level.sku, col(StockAlert.alerted_at).is_(None))
                .values(alerted_at=now)
                .execution_options(synchronize_session=False)
            )
            if affected_rows(claimed) == 1:
                newly_low.append(level)
        elif level.alerted_at is not None:
            await session.execute(
                update(StockAlert)
                .where(col(StockAlert.sku) == level.sku)
                .values(alerted_at=None)
                .execution_options(synchronize_session=False)
            )
    if newly_low:
        operators = list(
            await session.scalars(select(col(User.email)).where(col(User.is_operator)))
        )
        subject, body = _low_stock_mail(newly_low, console_link)
        for email in operators:
            queue_mail(session, email, subject, body)
        _LOGGER.info(
            "low stock: %s (%d operators mailed)",
            ", ".join(level.sku for level in newly_low),
            len(operators),
        )
    await session.flush()
    return [level.sku for level in newly_low]


def _low_stock_mail(levels: list[StockLevel], console_link: str) -> tuple[str, str]:
    # A subject is at most 200 characters (outgoing_mail.subject): name one, count many.
    names = levels[0].name if len(levels) == 1 else f"{len(levels)} products"
    lines = "\n".join(
        f"  {level.name} ({level.sku}): {level.unsold} left "
        f"({level.available} free, {level.held} held), threshold {level.threshold}"
        for level in levels
    )
    body = f"Stock is running low:\n\n{lines}\n\nImport new units: {console_link}\n"
    return f"Low stock: {names}", body


@dataclass(frozen=True)
class UnitInfo:
    serial: str
    sku: str
    state: str  # available, held or sold
    order_id: str | None
    order_status: str | None
    owner_email: str | None
    sold_at: datetime | None
    created_at: datetime


async def find_unit(session: AsyncSession, serial: str) -> UnitInfo | None:
    """The unit with this serial (case and spaces forgiven): its state, order and owner."""
    wanted = serial.strip().upper()
    row = (
        await session.execute(
            select(StockUnit, Ownership, Order)
            .outerjoin(Ownership, col(Ownership.unit_id) == col(StockUnit.id))
            .outerjoin(Order, col(Order.id) == col(StockUnit.order_id))
            .where(col(StockUnit.serial) == wanted)
        )
    ).first()
    if row is None:
        return None
    unit, ownership, order = row
    state = "sold" if unit.sold_at else "held" if unit.order_id else "available"
    return UnitInfo(
        serial=unit.serial,
        sku=unit.sku,
        state=state,
        order_id=unit.order_id,
        order_status=order.status if order else None,
        owner_email=ownership.email if ownership else None,
        sold_at=unit.sold_at,
        created_at=unit.created_at,
    )


@dataclass(frozen=True)
class ImportPreview:
    result: ImportResult | None  # what the import would do; None when refused
    problems: list[str]


async def preview_import(
    session: AsyncSession, secret_key: str, text: str, known_skus: Collection[str]
) -> ImportPreview:
    """Run the import in a transaction that is rolled back: exactly what the real import
    would add or refuse, line by line, and nothing written."""
    try:
        result = await import_stock(session, secret_key, text, known_skus)
    except StockImportError as err:
        return ImportPreview(None, err.problems)
    finally:
        await session.rollback()
    return ImportPreview(result, [])
