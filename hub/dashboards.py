"""Dashboards from YAML files: validated, with errors that name the file and line.

Default dashboards ship in the repository's ``dashboards/``; a user's edits are saved to
``$ETHOS_DATA_DIR/hub/dashboards/`` and take precedence over a default of the same name.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_LOGGER = logging.getLogger(__name__)

DEFAULT_DASHBOARDS_DIR = Path(__file__).resolve().parent.parent / "dashboards"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ENTITY_ID = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
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


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _Validator:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[str] = []
        self._loader = yaml.SafeLoader("")

    def problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(f"{self.filename}:{_line(node)}: {message}")

    def value(self, node: yaml.Node) -> Any:
        return self._loader.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node, what: str) -> dict[str, yaml.Node] | None:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping")
            return None
        result: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, str):
                self.problem(key_node, f"{what}: keys must be text")
                continue
            if key in result:
                self.problem(key_node, f"{what}: duplicate key {key!r}")
            result[key] = value_node
        return result

    def text(self, node: yaml.Node | None, what: str) -> str | None:
        if node is None:
            return None
        value = self.value(node)
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.problem(node, f"{what} must be text")
            return None
        return str(value)

    def number(self, node: yaml.Node | None, what: str, default: float) -> float:
        if node is None:
            return default
        value = self.value(node)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(node, f"{what} must be a number")
            return default
        return float(value)

    def entity_id(self, node: yaml.Node, what: str) -> str | None:
        value = self.value(node)
        if not isinstance(value, str) or not _ENTITY_ID.match(value):
            self.problem(node, f"{what}: {value!r} is not an entity id like sensor.kitchen")
            return None
        return value

    def card(self, node: yaml.Node, index: int) -> Card | None:
        fields = self.mapping(node, f"card {index + 1}")
        if fields is None:
            return None
        kind = self.text(fields.get("type"), "type")
        if kind not in CARD_TYPES:
            self.problem(
                fields.get("type", node),
                f"card {index + 1}: type must be one of {', '.join(CARD_TYPES)}",
            )
            return None
        title = self.text(fields.get("title"), "title")
        entities: list[str] = []
        options: dict[str, Any] = {}
        if kind in ("entities", "history-graph"):
            listed = fields.get("entities")
            if not isinstance(listed, yaml.SequenceNode) or not listed.value:
                self.problem(listed or node, f"{kind} card needs a non-empty 'entities' list")
            else:
                entities = [e for e in (self.entity_id(n, kind) for n in listed.value) if e]
            if kind == "history-graph":
                hours = self.number(fields.get("hours"), "hours", 24)
                if not 0 < hours <= 240:
                    self.problem(fields["hours"], "hours must be between 0 and 240")
                options["hours"] = hours
        else:
            if "entity" not in fields:
                self.problem(node, f"{kind} card needs an 'entity'")
            else:
                found = self.entity_id(fields["entity"], kind)
                entities = [found] if found else []
            if kind == "gauge":
                low = self.number(fields.get("min"), "min", 0)
                high = self.number(fields.get("max"), "max", 100)
                if low >= high:
                    self.problem(fields.get("max", node), "gauge: min must be below max")
                options.update(min=low, max=high, unit=self.text(fields.get("unit"), "unit"))
            if kind == "button":
                options["service"] = self.text(fields.get("service"), "service")
        return Card(kind, title, tuple(entities), options)


def parse_dashboard(name: str, text: str, path: Path) -> Dashboard:
    """Validate a dashboard's YAML; raise DashboardError listing every problem with its line."""
    filename = path.name
    if len(text.encode()) > MAX_DASHBOARD_BYTES:
        raise DashboardError([f"{filename}:1: file is larger than {MAX_DASHBOARD_BYTES} bytes"])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(err, "problem", None) or str(err)
        raise DashboardError([f"{filename}:{line}: invalid YAML: {reason}"]) from err
    if root is None:
        raise DashboardError([f"{filename}:1: the file is empty"])
    check = _Validator(filename)
    fields = check.mapping(root, "dashboard")
    cards: list[Card] = []
    title = name
    if fields is not None:
        title = check.text(fields.get("title"), "title") or name
        listed = fields.get("cards")
        if not isinstance(listed, yaml.SequenceNode):
            check.problem(listed or root, "dashboard needs a 'cards' list")
        else:
            cards = [c for c in (check.card(n, i) for i, n in enumerate(listed.value)) if c]
    if check.problems:
        raise DashboardError(sorted(check.problems, key=lambda p: int(p.split(":")[1])))
    return Dashboard(name, title, tuple(cards), text, path)


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
