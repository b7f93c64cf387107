"""The automation editor's form: rows of triggers, conditions and actions, each a type
with its fields, turned into an automation in Home Assistant's format and back.

What the form does not show (choose, repeat, templates in data...) is edited in the YAML
view; such an automation opens there, so nothing it holds is lost through the form.
PyYAML is imported when a form is shown or read, not when the hub starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.integrations.automation.nodes import AUTOMATION_KEYS

MAX_ROWS = 20
MAX_FIELD_CHARS = 2000

# kind → [(field, label, input type)]; input types: entity, text, number, select:<a|b>, service
TRIGGER_FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "presence": [
        ("entity_id", "Occupancy sensor", "entity"),
        ("to", "Becomes", "select:occupied|vacant"),
        ("for", "For (HH:MM:SS)", "text"),
    ],
    "state": [
        ("entity_id", "Entity", "entity"),
        ("from", "From", "text"),
        ("to", "To", "text"),
        ("for", "For (HH:MM:SS)", "text"),
    ],
    "numeric_state": [
        ("entity_id", "Entity", "entity"),
        ("above", "Above", "text"),
        ("below", "Below", "text"),
        ("for", "For (HH:MM:SS)", "text"),
    ],
    "time": [("at", "At (HH:MM:SS)", "text")],
    "time_pattern": [
        ("hours", "Hours", "text"),
        ("minutes", "Minutes", "text"),
        ("seconds", "Seconds", "text"),
    ],
    "sun": [("event", "Event", "select:sunrise|sunset"), ("offset", "Offset (±HH:MM:SS)", "text")],
    "mqtt": [("topic", "Topic", "text"), ("payload", "Payload", "text")],
    "event": [("event_type", "Event type", "text")],
    "homeassistant": [("event", "Hub", "select:start|shutdown")],
}
CONDITION_FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "presence": [
        ("entity_id", "Occupancy sensor", "entity"),
        ("state", "Is", "select:occupied|vacant"),
        ("for", "For at least (HH:MM:SS)", "text"),
    ],
    "state": [
        ("entity_id", "Entity", "entity"),
        ("state", "State", "text"),
        ("for", "For (HH:MM:SS)", "text"),
    ],
    "numeric_state": [
        ("entity_id", "Entity", "entity"),
        ("above", "Above", "text"),
        ("below", "Below", "text"),
    ],
    "time": [
        ("after", "After (HH:MM)", "text"),
        ("before", "Before (HH:MM)", "text"),
        ("weekday", "Weekdays (mon,tue…)", "text"),
    ],
    "sun": [
        ("after", "After", "select:|sunrise|sunset"),
        ("before", "Before", "select:|sunrise|sunset"),
    ],
    "template": [("value_template", "Template", "text")],
}
ACTION_FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "service": [
        ("action", "Service", "service"),
        ("entity_id", "Target entity", "entity"),
        ("data", "Data (YAML mapping)", "text"),
    ],
    "delay": [("delay", "Wait (HH:MM:SS)", "text")],
    "notify": [("title", "Title", "text"), ("message", "Message", "text")],
    "event": [("event", "Event type", "text")],
}
SECTIONS = {"trigger": TRIGGER_FIELDS, "condition": CONDITION_FIELDS, "action": ACTION_FIELDS}
_NUMBER_KEYS = {"above", "below"}
_LIST_KEYS = {"weekday"}


@dataclass
class Row:
    kind: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class AutomationForm:
    alias: str = ""
    description: str = ""
    mode: str = "single"
    triggers: list[Row] = field(default_factory=list)
    conditions: list[Row] = field(default_factory=list)
    actions: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def rows(self, section: str) -> list[Row]:
        return {"trigger": self.triggers, "condition": self.conditions, "action": self.actions}[
            section
        ]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, Mapping):
        import yaml

        return yaml.safe_dump(dict(value), default_flow_style=True, sort_keys=False).strip()
    return str(value)


def form_from_config(raw: Mapping[str, Any]) -> AutomationForm | None:
    """The form for an automation, or None when it holds what the form cannot show."""
    form = AutomationForm(
        alias=str(raw.get("alias") or ""),
        description=str(raw.get("description") or ""),
        mode=str(raw.get("mode") or "single"),
    )
    # What the form shows at the top: everything but the keys it has no field for.
    allowed_top = AUTOMATION_KEYS - {"max", "max_exceeded", "initial_state", "variables", "trace"}
    if set(raw) - allowed_top:
        return None
    for section, plural in (
        ("trigger", "triggers"),
        ("condition", "conditions"),
        ("action", "actions"),
    ):
        items = raw.get(plural, raw.get(section)) or []
        for item in items if isinstance(items, list) else [items]:
            row = _row_from(section, item)
            if row is None:
                return None
            form.rows(section).append(row)
    return form


def _row_from(section: str, item: Any) -> Row | None:
    if not isinstance(item, Mapping):
        return None
    fields = SECTIONS[section]
    if section == "action":
        name = item.get("action", item.get("service"))
        if name == "persistent_notification.create" and set(item) <= {"action", "service", "data"}:
            data = item.get("data") or {}
            if set(data) <= {"title", "message"}:
                return Row("notify", {k: _text(v) for k, v in data.items()})
            return None
        if name is not None:
            kind = "service"
            target = item.get("target") or {}
            if set(item) - {"action", "service", "target", "data"} or set(target) - {"entity_id"}:
                return None
            values = {"action": str(name), "entity_id": _text(target.get("entity_id"))}
            if item.get("data"):
                values["data"] = _text(item["data"])
            return Row(kind, values)
        other = next((k for k in ("delay", "event") if k in item), None)
        if other is None or set(item) - {other, "event_data"} or item.get("event_data"):
            return None
        return Row(other, {other: _text(item[other])})
    kind = item.get(section, item.get("platform"))
    if kind not in fields:
        return None
    names = {name for name, _label, _input in fields[kind]}
    if set(item) - names - {section, "platform"}:
        return None
    if any(isinstance(item[k], Mapping) and k != "data" for k in names & set(item)):
        return None
    return Row(str(kind), {k: _text(item[k]) for k in names if k in item})


def form_from_post(post: Mapping[str, Any]) -> AutomationForm:
    """Rows as posted (``trigger-0-kind``, ``trigger-0-entity_id``...); a row whose kind is
    empty is dropped; ``add`` asks for one more row of a section."""

    def get(name: str) -> str:
        value = post.get(name, "")
        return value[:MAX_FIELD_CHARS].strip() if isinstance(value, str) else ""

    form = AutomationForm(
        alias=get("alias"), description=get("description"), mode=get("mode") or "single"
    )
    for section, fields in SECTIONS.items():
        for index in range(MAX_ROWS):
            kind = get(f"{section}-{index}-kind")
            if not kind or get(f"{section}-{index}-remove"):
                continue
            if kind not in fields:
                form.problems.append(f"{section} {index + 1}: unknown type {kind!r}")
                continue
            values = {name: get(f"{section}-{index}-{name}") for name, _l, _i in fields[kind]}
            form.rows(section).append(Row(kind, values))
    add = get("add")
    if add in SECTIONS and len(form.rows(add)) < MAX_ROWS:
        form.rows(add).append(Row(next(iter(SECTIONS[add]))))
    return form


def config_from_form(form: AutomationForm) -> dict[str, Any]:
    """The automation the form describes, in Home Assistant's format (checked later by the
    engine, which names what is wrong)."""
    config: dict[str, Any] = {"alias": form.alias or "New automation"}
    if form.description:
        config["description"] = form.description
    config["mode"] = form.mode
    config["triggers"] = [_item("trigger", row) for row in form.triggers]
    if form.conditions:
        config["conditions"] = [_item("condition", row) for row in form.conditions]
    config["actions"] = [_action(row) for row in form.actions]
    return config


def _value(key: str, text: str) -> Any:
    if key in _NUMBER_KEYS:
        try:
            return float(text) if "." in text else int(text)
        except ValueError:
            return text
    if key in _LIST_KEYS or (key == "entity_id" and "," in text):
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _item(section: str, row: Row) -> dict[str, Any]:
    item: dict[str, Any] = {section: row.kind}
    for key, text in row.values.items():
        if text:
            item[key] = _value(key, text)
    return item


def _action(row: Row) -> dict[str, Any]:
    values = row.values
    if row.kind == "notify":
        shown = {k: values[k] for k in ("title", "message") if values.get(k)}
        return {"action": "persistent_notification.create", "data": shown}
    if row.kind != "service":
        return {row.kind: values.get(row.kind, "")}
    action: dict[str, Any] = {"action": values.get("action", "")}
    if values.get("entity_id"):
        action["target"] = {"entity_id": _value("entity_id", values["entity_id"])}
    if values.get("data"):
        import yaml

        data: Any
        try:
            data = yaml.safe_load(values["data"])
        except yaml.YAMLError:
            data = values["data"]  # the engine says it is not a mapping
        action["data"] = data
    return action
