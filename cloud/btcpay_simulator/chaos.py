"""Chaos in the simulator's webhook deliveries, for storm tests of several store replicas.

With targets set, each attempt goes to the next target in turn (round-robin across the
replicas' own webhook URLs) instead of the webhook's URL. With rates set, a delivery may be
dropped (never sent, never retried: only the store's reconciler can then learn of it),
sent twice (a duplicate to the next target), held back so later ones overtake it
(reordering), or followed by a forged copy (same body, wrong signature) whose answer is
counted: the store must refuse every forgery.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

RATE_KEYS = ("drop", "duplicate", "reorder", "forge")
MAX_REORDER_DELAY_S = 30.0


class ChaosError(ValueError):
    """A chaos setting that cannot be used; the message says which."""


@dataclass
class Chaos:
    """Settings and counters; `rng` is seeded so a storm's faults can be replayed."""

    targets: list[str] = field(default_factory=list)
    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    forge: float = 0.0
    reorder_delay: float = 1.0
    counts: Counter[str] = field(default_factory=Counter)
    rng: random.Random = field(default_factory=random.Random)
    _next: int = 0

    def configure(self, body: dict[str, Any]) -> None:
        """Replace the settings from a JSON object (unknown keys refused); counters reset."""
        unknown = set(body) - {"targets", "reorder_delay", "seed", *RATE_KEYS}
        if unknown:
            raise ChaosError(f"unknown chaos settings: {', '.join(sorted(unknown))}")
        targets = body.get("targets", [])
        if not isinstance(targets, list) or not all(
            isinstance(t, str) and t.startswith(("http://", "https://")) for t in targets
        ):
            raise ChaosError("targets must be a list of http(s) URLs")
        rates = {}
        for key in RATE_KEYS:
            value = body.get(key, 0.0)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ChaosError(f"{key} must be a rate between 0 and 1")
            rates[key] = float(value)
        delay = body.get("reorder_delay", 1.0)
        if not isinstance(delay, int | float) or not 0.0 <= delay <= MAX_REORDER_DELAY_S:
            raise ChaosError(f"reorder_delay must be between 0 and {MAX_REORDER_DELAY_S:g} s")
        self.targets = list(targets)
        self.drop, self.duplicate = rates["drop"], rates["duplicate"]
        self.reorder, self.forge = rates["reorder"], rates["forge"]
        self.reorder_delay = float(delay)
        self.rng = random.Random(body.get("seed"))
        self.counts = Counter()
        self._next = 0

    def target(self, default: str) -> str:
        """Where the next attempt goes: the next target in turn, or the webhook's URL."""
        if not self.targets:
            return default
        url = self.targets[self._next % len(self.targets)]
        self._next += 1
        return url

    def hit(self, kind: str) -> bool:
        """Whether this delivery suffers `kind` (one of RATE_KEYS); counted when it does."""
        rate = getattr(self, kind)
        if rate > 0 and self.rng.random() < rate:
            self.counts[kind] += 1
            return True
        return False

    def reorder_wait(self) -> float:
        return self.rng.uniform(0, self.reorder_delay)

    def count(self, kind: str) -> None:
        self.counts[kind] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "targets": self.targets,
            **{key: getattr(self, key) for key in RATE_KEYS},
            "reorder_delay": self.reorder_delay,
            "counts": dict(self.counts),
        }
