"""Traces: what each run saw and did, kept for the last runs of every automation.

A trace holds the trigger, each condition's result, each action step with its timing and
the variables it set, and how the run ended. The page "why didn't it run?" reads the last
trace whose trigger fired: the condition that said no is in it.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from hub.integrations.automation.const import TRACES_KEPT

_MAX_VALUE_CHARS = 200
_run_numbers = itertools.count(1)

# How a run ended.
FINISHED = "finished"
CONDITION_FAILED = "condition failed"
STOPPED = "stopped"
ERROR = "error"
CANCELLED = "cancelled"
NOT_STARTED = "not started"
RUNNING = "running"


def brief(value: Any) -> Any:
    """A value as the trace keeps it: JSON-friendly, long texts cut."""
    if isinstance(value, Mapping):
        return {str(k): brief(v) for k, v in list(value.items())[:30]}
    if isinstance(value, list | tuple):
        return [brief(v) for v in value[:30]]
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = (
        str(value.state) if hasattr(value, "state") and hasattr(value, "entity_id") else str(value)
    )
    return text if len(text) <= _MAX_VALUE_CHARS else text[:_MAX_VALUE_CHARS] + "…"


@dataclass
class ConditionResult:
    path: str
    kind: str
    result: bool
    detail: str


@dataclass
class Step:
    path: str
    kind: str
    alias: str | None
    started: datetime
    seconds: float = 0.0
    result: str = ""
    variables: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Trace:
    automation_id: str
    trigger: str  # what fired, in words
    started: datetime
    run: int = field(default_factory=lambda: next(_run_numbers))
    trigger_id: str | None = None
    conditions: list[ConditionResult] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    outcome: str = RUNNING
    reason: str | None = None  # why it stopped, failed or did not start
    finished: datetime | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def stopped_by(self) -> ConditionResult | None:
        """The condition that said no, when that is how the run ended."""
        if self.outcome != CONDITION_FAILED or not self.conditions:
            return None
        # Evaluation stops at the first top-level condition that fails, and a group notes
        # its own answer after its members': the last result is the one that said no.
        return self.conditions[-1]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Trace:
        trace = cls(
            automation_id=str(raw["automation_id"]),
            trigger=str(raw["trigger"]),
            started=datetime.fromisoformat(str(raw["started"])),
            trigger_id=raw.get("trigger_id"),
            outcome=str(raw.get("outcome", FINISHED)),
            reason=raw.get("reason"),
            notes=[str(n) for n in raw.get("notes", [])],
        )
        trace.finished = (
            datetime.fromisoformat(str(raw["finished"])) if raw.get("finished") else None
        )
        trace.conditions = [ConditionResult(**c) for c in raw.get("conditions", [])]
        trace.steps = [
            Step(**{**s, "started": datetime.fromisoformat(str(s["started"]))})
            for s in raw.get("steps", [])
        ]
        return trace


class TraceStore:
    """The last ``TRACES_KEPT`` traces of each automation, newest last."""

    def __init__(self) -> None:
        self._traces: dict[str, deque[Trace]] = {}

    def add(self, trace: Trace) -> None:
        kept = self._traces.setdefault(trace.automation_id, deque(maxlen=TRACES_KEPT))
        kept.append(trace)

    def of(self, automation_id: str) -> list[Trace]:
        return list(self._traces.get(automation_id, ()))

    def get(self, automation_id: str, run: int) -> Trace | None:
        return next((t for t in self.of(automation_id) if t.run == run), None)

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        return {key: [t.as_json() for t in kept] for key, kept in self._traces.items()}

    def load_json(self, raw: Any) -> None:
        """Traces kept by an earlier run of the hub (a broken entry is skipped)."""
        if not isinstance(raw, Mapping):
            return
        for kept in raw.values():
            for item in kept if isinstance(kept, list) else ():
                try:
                    self.add(Trace.from_json(item))
                except (KeyError, TypeError, ValueError):
                    continue
