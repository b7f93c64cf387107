"""Dashboards from YAML files: found, validated (see dashboard_yaml) and saved.

Default dashboards ship in the repository's ``dashboards/``; a user's edits are saved to
``$ETHOS_DATA_DIR/hub/dashboards/`` and take precedence over a default of the same name.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)

DEFAULT_DASHBOARDS_DIR = Path(__file__).resolve().parent.parent / "dashboards"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_DASHBOARD_BYTES = 256 * 1024
CARD_TYPES = ("entities", "gauge", "history-graph", "button")


class DashboardError(ValueError):
    """One or more problems, each as ``file:line: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Card:
    type: str
    title: str | None
    entities: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dashboard:
    name: str
    title: str
    cards: tuple[Card, ...]
    source: str
    path: Path


def parse_dashboard(name: str, text: str, path: Path) -> Dashboard:
    """Validate a dashboard's YAML; raise DashboardError listing every problem with its line."""
    # PyYAML loads when a dashboard is first read, not while the hub starts.
    from hub.dashboard_yaml import parse

    return parse(name, text, path)


class DashboardStore:
    """Finds, validates and saves dashboards (blocking file IO: call from an executor)."""

    def __init__(self, default_dir: Path, user_dir: Path) -> None:
        self.default_dir = default_dir
        self.user_dir = user_dir

    def names(self) -> list[str]:
        found = set()
        for folder in (self.default_dir, self.user_dir):
            if folder.is_dir():
                found |= {p.stem for p in folder.glob("*.yaml") if _NAME.match(p.stem)}
        return sorted(found)

    def path_for(self, name: str) -> Path | None:
        if not _NAME.match(name):
            return None
        for folder in (self.user_dir, self.default_dir):
            path = folder / f"{name}.yaml"
            if path.is_file():
                return path
        return None

    def load(self, name: str) -> Dashboard | None:
        """The dashboard, None if there is none; DashboardError if it is invalid."""
        path = self.path_for(name)
        if path is None:
            return None
        return parse_dashboard(name, path.read_text(encoding="utf-8"), path)

    def save(self, name: str, text: str) -> Dashboard:
        """Validate first; only a valid dashboard replaces the user's file."""
        if not _NAME.match(name):
            raise DashboardError([f"{name}: names use a-z, 0-9, '-' and '_'"])
        path = self.user_dir / f"{name}.yaml"
        dashboard = parse_dashboard(name, text, path)
        self.user_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        return dashboard
