"""The audit log: every operator action, who took it, when, on what. Append-only.

Callers write the entry in the same transaction as the action it records, so an action
that rolls back leaves no entry and an entry never describes something that did not happen.
The database refuses UPDATE and DELETE on the table (triggers, see the 0006 migration).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.admin.models import AuditEntry
from cloud.authz import Principal

_LOGGER = logging.getLogger(__name__)

# The actor of an action taken from the command line rather than by a signed-in operator.
COMMAND_LINE = "command line"
PAGE_SIZE = 50
_TARGET_LENGTH = 200
_ACTION_LENGTH = 64


async def record(
    session: AsyncSession,
    actor: Principal | str,
    action: str,
    target: str,
    details: Mapping[str, object] | None = None,
) -> AuditEntry:
    """Add one entry to the caller's transaction (flushed, so its id is known)."""
    if not action or len(action) > _ACTION_LENGTH:
        raise ValueError(f"an audit action is 1 to {_ACTION_LENGTH} characters: {action!r}")
    if isinstance(actor, Principal):
        actor_id, actor_email = actor.user_id, actor.email
    else:
        actor_id, actor_email = None, actor
    entry = AuditEntry(
        actor_id=actor_id,
        actor_email=actor_email[:254],
        action=action,
        target=target[:_TARGET_LENGTH],
        details=json.dumps(dict(details or {}), default=str, sort_keys=True),
    )
    session.add(entry)
    await session.flush()
    _LOGGER.info("audit: %s by %s on %s", action, actor_email, target[:_TARGET_LENGTH])
    return entry


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    target: str | None = None
    before_id: int | None = None  # keyset paging: entries older than this one


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor_email: str
    action: str
    target: str
    details: dict[str, object]


async def list_entries(
    session: AsyncSession, where: AuditFilter, limit: int = PAGE_SIZE
) -> Sequence[AuditRow]:
    """The newest entries first, matching `where`."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if where.action:
        query = query.where(col(AuditEntry.action) == where.action)
    if where.actor:
        query = query.where(col(AuditEntry.actor_email) == where.actor.strip().lower())
    if where.target:
        query = query.where(col(AuditEntry.target) == where.target.strip())
    if where.before_id is not None:
        query = query.where(col(AuditEntry.id) < where.before_id)
    rows = (await session.scalars(query)).all()
    return [
        AuditRow(
            id=row.id or 0,
            at=row.at,
            actor_email=row.actor_email,
            action=row.action,
            target=row.target,
            details=_details(row.details),
        )
        for row in rows
    ]


def _details(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"raw": text}
    return value if isinstance(value, dict) else {"value": value}
