"""A dashboard's YAML checked node by node, so every problem names its file and line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from hub.dashboards import CARD_TYPES, MAX_DASHBOARD_BYTES, Card, Dashboard, DashboardError

_ENTITY_ID = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")


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


def parse(name: str, text: str, path: Path) -> Dashboard:
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
