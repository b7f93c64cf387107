"""Who changed which automation, and when: kept in a small JSON file (atomic writes)."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.integrations.automation.const import EDITS_KEPT
from hub.integrations.automation.files import read_json, write_json


@dataclass(frozen=True)
class Edit:
    at: str  # ISO time, UTC
    who: str  # the person's name and hub user id
    action: str  # created, updated, deleted, turned on, turned off, reloaded, ...
    automation_id: str | None
    alias: str | None


class EditLog:
    """The last ``EDITS_KEPT`` edits, newest last."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._edits: deque[Edit] = deque(maxlen=EDITS_KEPT)

    def load(self) -> None:
        """Blocking: from an executor."""
        for raw in read_json(self.path, []):
            try:
                self._edits.append(Edit(**raw))
            except TypeError:
                continue

    def add(
        self, at: datetime, who: str, action: str, automation_id: str | None, alias: str | None
    ) -> Edit:
        edit = Edit(at.isoformat(), who, action, automation_id, alias)
        self._edits.append(edit)
        return edit

    def snapshot(self) -> list[dict[str, Any]]:
        return [asdict(e) for e in self._edits]

    def save(self, snapshot: list[dict[str, Any]]) -> None:
        """Blocking: from an executor."""
        write_json(self.path, snapshot)

    def recent(self, automation_id: str | None = None, limit: int = 50) -> list[Edit]:
        edits = [
            e for e in self._edits if automation_id is None or e.automation_id == automation_id
        ]
        return edits[-limit:][::-1]
