"""`ethos cloud stock import FILE.csv`: add stock units from a manufacturing CSV.

Columns: serial, sku, claim_secret (64 hex digits = 32 bytes). The whole file is checked
first and imported in one transaction: one bad line imports nothing. Re-importing a unit
that is already there with the same sku and secret is a no-op, so a file can be re-run.
"""

from __future__ import annotations

import csv
import hmac
import io
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.inventory.models import StockUnit
from cloud.inventory.sealing import CLAIM_SECRET_BYTES, seal, unseal

_LOGGER = logging.getLogger(__name__)

SERIAL_RE = re.compile(r"^[A-Z][A-Z0-9]{1,7}-\d{6}$")
COLUMNS = ("serial", "sku", "claim_secret")
MAX_ROWS = 100_000


class StockImportError(ValueError):
    """The file cannot be imported; `problems` lists every line at fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:20]) + (" …" if len(problems) > 20 else ""))
        self.problems = problems


@dataclass
class ImportResult:
    added: int = 0
    unchanged: int = 0
    skus: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Row:
    line: int
    serial: str
    sku: str
    secret: bytes


def parse_stock_csv(text: str, known_skus: Collection[str]) -> list[_Row]:
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    if tuple(header) != COLUMNS:
        raise StockImportError([f"line 1: the header must be {','.join(COLUMNS)}"])
    rows: list[_Row] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        if len(rows) >= MAX_ROWS:
            raise StockImportError([f"more than {MAX_ROWS} units in one file"])
        if None in raw or any(value is None for value in raw.values()):
            problems.append(f"line {number}: expected {len(COLUMNS)} columns")
            continue
        serial, sku, secret_hex = (raw[name].strip() for name in COLUMNS)
        if not SERIAL_RE.match(serial):
            problems.append(f"line {number}: serial {serial!r} should look like EPD-000123")
        elif serial in seen:
            problems.append(f"line {number}: serial {serial} repeats line {seen[serial]}")
        seen.setdefault(serial, number)
        if sku not in known_skus:
            problems.append(f"line {number}: sku {sku!r} is not in the catalog")
        try:
            secret = bytes.fromhex(secret_hex)
        except ValueError:
            secret = b""
        if len(secret) != CLAIM_SECRET_BYTES:
            problems.append(f"line {number}: claim_secret must be 64 hex digits (32 bytes)")
        rows.append(_Row(number, serial, sku, secret))
    if problems:
        raise StockImportError(problems)
    return rows


async def import_stock(
    session: AsyncSession, secret_key: str, text: str, known_skus: Collection[str]
) -> ImportResult:
    """Check and add every unit of the CSV text inside the caller's transaction."""
    rows = parse_stock_csv(text, known_skus)
    existing: dict[str, StockUnit] = {}
    serials = [row.serial for row in rows]
    for start in range(0, len(serials), 1000):
        chunk = serials[start : start + 1000]
        for known in await session.scalars(
            select(StockUnit).where(col(StockUnit.serial).in_(chunk))
        ):
            existing[known.serial] = known
    result = ImportResult()
    problems: list[str] = []
    for row in rows:
        unit = existing.get(row.serial)
        if unit is None:
            continue
        same_secret = hmac.compare_digest(
            unseal(secret_key, unit.serial, unit.sealed_claim_secret), row.secret
        )
        if unit.sku != row.sku or not same_secret:
            problems.append(
                f"line {row.line}: {row.serial} is already in stock with a different "
                "sku or claim secret"
            )
    if problems:
        raise StockImportError(problems)
    for row in rows:
        if row.serial in existing:
            result.unchanged += 1
            continue
        session.add(
            StockUnit(
                serial=row.serial,
                sku=row.sku,
                sealed_claim_secret=seal(secret_key, row.serial, row.secret),
            )
        )
        result.added += 1
        result.skus[row.sku] = result.skus.get(row.sku, 0) + 1
    await session.flush()
    _LOGGER.info("stock import: %d added, %d already present", result.added, result.unchanged)
    return result
