"""The registry of personal data holders: what each area keeps about an account, how it is
exported ("download my data") and what deleting the account does to it.

Accounts know no other area: each area registers a :class:`PersonalDataHolder` in its own
setup, naming every column it answers for. The export walks the holders in registration
order; deletion asks each whether it may go ahead (a payment in flight, say), then erases
in reverse registration order, so the accounts area (registered first) removes the user
row last, after the rows that point at it are gone or pseudonymised.

A table that gains a column holding personal data (an address, a name, an email, a link
to `users.id`) must be claimed by a holder or listed in :data:`NOT_PERSONAL` with the
reason: tests/cloud/test_conventions.py fails otherwise, so a new table is not forgotten.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db import utcnow
from cloud.domain import Refusal

_LOGGER = logging.getLogger(__name__)

EXPORT_FORMAT = "ethos-personal-data/1"
# Column names that suggest personal data; a column matching one, or a foreign key to
# `users.id`, must be claimed by a holder (or listed in NOT_PERSONAL).
PERSONAL_COLUMN_NAME = re.compile(
    r"email|recipient|address|phone|street|postal|city|first_name|last_name|full_name"
    r"|user_id|actor|buyer|customer|owner|operator|sealed",
    re.IGNORECASE,
)
# Columns whose names look personal but hold nothing about a person, and why.
NOT_PERSONAL: dict[str, str] = {
    "stock_units.sealed_claim_secret": "a device's credential, not about its owner",
    "oauth_signing_keys.sealed_jwk": "the store's own signing key",
    "users.is_operator": "a role flag on the user row, which deletion removes",
}


@dataclass(frozen=True)
class DataSubject:
    """The account whose data is exported or erased."""

    user_id: int
    email: str


ExportSection = Callable[[AsyncSession, DataSubject], Awaitable[Any]]
Preview = Callable[[AsyncSession, DataSubject], Awaitable[list[str]]]
Eraser = Callable[[AsyncSession, DataSubject], Awaitable[object]]
ErasureCheck = Callable[[AsyncSession, DataSubject], Awaitable[Refusal | None]]


@dataclass(frozen=True)
class PersonalDataHolder:
    """One area's personal data: its export section and what deletion does to it.

    `columns` names every "table.column" the holder exports or erases; `preview` says in
    plain words, for this account, what deleting it will do (shown before confirming).
    """

    section: str
    columns: frozenset[str]
    export: ExportSection
    preview: Preview
    erase: Eraser
    can_erase: ErasureCheck | None = None


@dataclass
class PersonalDataRegistry:
    holders: list[PersonalDataHolder] = field(default_factory=list)

    def register(self, holder: PersonalDataHolder) -> None:
        if any(h.section == holder.section for h in self.holders):
            raise ValueError(f"a personal data section {holder.section!r} is registered")
        self.holders.append(holder)

    def handled_columns(self) -> frozenset[str]:
        return frozenset().union(*(h.columns for h in self.holders))

    async def export(self, session: AsyncSession, subject: DataSubject) -> dict[str, Any]:
        document: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "generated_at": utcnow().isoformat(),
        }
        for holder in self.holders:
            document[holder.section] = await holder.export(session, subject)
        return document

    async def preview(self, session: AsyncSession, subject: DataSubject) -> list[str]:
        lines: list[str] = []
        for holder in self.holders:
            lines.extend(await holder.preview(session, subject))
        return lines

    async def refusals(self, session: AsyncSession, subject: DataSubject) -> list[Refusal]:
        """Why the account cannot be deleted now (empty: it can). Side-effect free."""
        found = []
        for holder in self.holders:
            if holder.can_erase is not None:
                refusal = await holder.can_erase(session, subject)
                if refusal is not None:
                    found.append(refusal)
        return found

    async def erase(self, session: AsyncSession, subject: DataSubject) -> None:
        """Erase in the caller's transaction, last registered first."""
        for holder in reversed(self.holders):
            await holder.erase(session, subject)
        _LOGGER.info("account %s: personal data erased", subject.user_id)


def personal_columns(metadata: MetaData) -> set[str]:
    """Every "table.column" that looks like personal data: by name, or a link to a user."""
    found = set()
    for table in metadata.tables.values():
        for column in table.columns:
            links_user = any(fk.target_fullname == "users.id" for fk in column.foreign_keys)
            if links_user or PERSONAL_COLUMN_NAME.search(column.name):
                found.add(f"{table.name}.{column.name}")
    return found


def unclaimed_columns(metadata: MetaData, registry: PersonalDataRegistry) -> list[str]:
    """Personal-looking columns no holder claims and NOT_PERSONAL does not excuse."""
    claimed = registry.handled_columns() | set(NOT_PERSONAL)
    return sorted(personal_columns(metadata) - claimed)


def iso(value: Any) -> Any:
    """A timestamp as ISO 8601 text for the export (None stays None)."""
    return value.isoformat() if value is not None else None


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def listing(items: Iterable[str], limit: int = 10) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
