"""Checks one automation as written in Home Assistant's format and normalises it.

``normalise_automation(raw)`` accepts both key styles (``triggers:``/``trigger:``,
``trigger: state``/``platform: state``, ``action: light.turn_on``/``service:``) and
returns plain dicts in one form the engine compiles. Every problem raises :class:`Invalid`
with the line of the YAML node it is about (ruamel's round-trip nodes know their lines).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time, timedelta
from typing import Any

from hub.core.states import valid_entity_id
from hub.integrations.automation.const import MAX_NESTING, MODES
from hub.integrations.automation.nodes import AUTOMATION_KEYS, Invalid, is_template, line_of, plain

_SERVICE = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TRIGGER_TYPES = (
    "state",
    "numeric_state",
    "time",
    "time_pattern",
    "sun",
    "mqtt",
    "event",
    "homeassistant",
    "presence",
)
CONDITION_TYPES = (
    "state",
    "numeric_state",
    "time",
    "sun",
    "template",
    "and",
    "or",
    "not",
    "trigger",
    "presence",
)
PRESENCE_STATES = {"occupied": "on", "vacant": "off"}


# --- small readers ---------------------------------------------------------------------


def _mapping(node: Any, what: str, line: int | None) -> Mapping[str, Any]:
    if not isinstance(node, Mapping):
        raise Invalid(f"{what} must be a mapping (key: value), not {_kind(node)}", line)
    return node


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {str(value)[:40]!r}"


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _strings(node: Mapping[str, Any], key: str, what: str) -> list[str]:
    items = _list(node.get(key))
    for item in items:
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise Invalid(f"{what}: {key} must be text or a list of texts", line_of(node, key))
    return [str(item) for item in items]


def _entity_ids(node: Mapping[str, Any], what: str, required: bool = True) -> list[str]:
    raw = node.get("entity_id")
    if isinstance(raw, str) and "," in raw:
        raw = [part.strip() for part in raw.split(",")]
    ids = _list(raw)
    line = line_of(node, "entity_id") or line_of(node)
    if required and not ids:
        raise Invalid(f"{what} needs an entity_id", line)
    for entity_id in ids:
        if not isinstance(entity_id, str) or not valid_entity_id(entity_id.lower()):
            raise Invalid(f"{what}: {entity_id!r} is not an entity id (domain.name)", line)
    return [e.lower() for e in ids]


def _number_or_entity(node: Mapping[str, Any], key: str, what: str) -> Any:
    value = node.get(key)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            if valid_entity_id(value):
                return value
    raise Invalid(f"{what}: {key} must be a number or an entity id", line_of(node, key))


def _text(node: Mapping[str, Any], key: str, what: str, required: bool = False) -> str | None:
    value = node.get(key)
    if value is None:
        if required:
            raise Invalid(f"{what} needs {key}", line_of(node))
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise Invalid(f"{what}: {key} must be text, not {_kind(value)}", line_of(node, key))
    return str(value)


def parse_duration(value: Any, what: str, line: int | None) -> timedelta | str | dict[str, Any]:
    """``"01:30"``, ``"00:00:05"``, seconds, ``{minutes: 5}``, or a template (kept as it is
    and rendered when used: a text, or a mapping with templates in it)."""
    if is_template(value):
        return str(value)
    if isinstance(value, Mapping) and any(is_template(v) for v in value.values()):
        return plain(value)
    if isinstance(value, bool):
        raise Invalid(f"{what} must be a duration, not {_kind(value)}", line)
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        text = value.strip()
        sign = -1 if text.startswith("-") else 1
        parts = text.lstrip("+-").split(":")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            numbers = []
        if 1 <= len(numbers) <= 3 and all(n >= 0 for n in numbers):
            if len(numbers) == 1:  # seconds
                numbers = [0.0, 0.0, numbers[0]]
            elif len(numbers) == 2:  # HH:MM
                numbers.append(0.0)
            hours, minutes, seconds = numbers
            return sign * timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if isinstance(value, Mapping):
        units = {"days", "hours", "minutes", "seconds", "milliseconds"}
        if value and set(value) <= units:
            try:
                return timedelta(**{k: float(v) for k, v in value.items()})
            except (TypeError, ValueError):
                pass
    raise Invalid(f"{what} must be a duration like 00:05:00 or {{minutes: 5}}", line)


def parse_time_of_day(value: Any, what: str, line: int | None) -> time | str:
    """``"07:30"``/``"07:30:00"`` as a time; an entity id (a time or timestamp) as text."""
    if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 sexagesimal 7:30
        value = f"{value // 3600:02d}:{value // 60 % 60:02d}:{value % 60:02d}"
    if isinstance(value, str):
        if valid_entity_id(value):
            return value
        parts = value.strip().split(":")
        try:
            numbers = [int(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) in (2, 3):
            try:
                return time(numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else 0)
            except ValueError:
                pass
    raise Invalid(f"{what} must be a time like 07:30:00 or an entity id", line)


def _weekdays(node: Mapping[str, Any], what: str) -> list[str]:
    days = [d.lower() for d in _strings(node, "weekday", what)]
    for day in days:
        if day not in WEEKDAYS:
            raise Invalid(f"{what}: weekday {day!r} is not one of {', '.join(WEEKDAYS)}")
    return days


def _check_keys(node: Mapping[str, Any], allowed: set[str], what: str) -> None:
    for key in node:
        if key not in allowed:
            raise Invalid(f"{what}: unknown key {key!r}", line_of(node, key))


def _common(node: Mapping[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    out["line"] = line_of(node)
    out["enabled"] = node.get("enabled", True) is not False
    if "alias" in node:
        out["alias"] = str(node["alias"])
    return out


# --- triggers --------------------------------------------------------------------------

_TRIGGER_COMMON = {"trigger", "platform", "id", "enabled", "variables", "alias"}


def normalise_trigger(node: Any, index: int) -> dict[str, Any]:
    node = _mapping(node, f"trigger {index + 1}", line_of(node))
    kind = node.get("trigger", node.get("platform"))
    what = f"trigger {index + 1} ({kind})"
    if kind not in TRIGGER_TYPES:
        raise Invalid(
            f"trigger {index + 1}: unknown or unsupported trigger {kind!r} "
            f"(supported: {', '.join(TRIGGER_TYPES)})",
            line_of(node),
        )
    out = _common(node, {"type": kind, "id": str(node.get("id", index))})
    variables = node.get("variables")
    if variables is not None:
        out["variables"] = dict(_mapping(variables, f"{what} variables", line_of(node)))
    allowed = set(_TRIGGER_COMMON)
    if kind in ("state", "numeric_state", "presence") and "for" in node:
        out["for"] = parse_duration(node["for"], f"{what} for", line_of(node, "for"))
    if kind == "state":
        allowed |= {"entity_id", "from", "to", "not_from", "not_to", "attribute", "for"}
        out["entity_id"] = _entity_ids(node, what)
        for key in ("from", "to", "not_from", "not_to"):
            out[key] = None if node.get(key) is None else _strings(node, key, what)
        out["to_given"] = "to" in node  # `to: null` means "any state change, not attributes"
        out["attribute"] = _text(node, "attribute", what)
    elif kind == "numeric_state":
        allowed |= {"entity_id", "above", "below", "attribute", "value_template", "for"}
        out["entity_id"] = _entity_ids(node, what)
        _numeric(node, out, what)
    elif kind == "presence":
        allowed |= {"entity_id", "to", "for"}
        out["entity_id"] = _entity_ids(node, what)
        to = node.get("to")
        if to not in PRESENCE_STATES:
            raise Invalid(f"{what}: to must be occupied or vacant", line_of(node, "to"))
        out["to"] = to
    elif kind == "time":
        allowed |= {"at", "weekday"}
        ats = _list(node.get("at"))
        if not ats:
            raise Invalid(f"{what} needs at", line_of(node))
        out["at"] = [parse_time_of_day(a, f"{what} at", line_of(node, "at")) for a in ats]
        out["weekday"] = _weekdays(node, what)
    elif kind == "time_pattern":
        allowed |= {"hours", "minutes", "seconds"}
        if not any(k in node for k in ("hours", "minutes", "seconds")):
            raise Invalid(f"{what} needs hours, minutes or seconds", line_of(node))
        for key, top in (("hours", 23), ("minutes", 59), ("seconds", 59)):
            out[key] = _pattern(node, key, top, what)
    elif kind == "sun":
        allowed |= {"event", "offset"}
        event = node.get("event")
        if event not in ("sunrise", "sunset"):
            raise Invalid(f"{what}: event must be sunrise or sunset", line_of(node, "event"))
        out["event"] = event
        offset = parse_duration(node.get("offset", 0), f"{what} offset", line_of(node, "offset"))
        if not isinstance(offset, timedelta):
            raise Invalid(f"{what}: offset cannot be a template", line_of(node, "offset"))
        out["offset"] = offset
    elif kind == "mqtt":
        allowed |= {"topic", "payload", "value_template", "qos", "encoding"}
        out["topic"] = _text(node, "topic", what, required=True)
        out["payload"] = _text(node, "payload", what)
        out["value_template"] = _text(node, "value_template", what)
    elif kind == "event":
        allowed |= {"event_type", "event_data", "context"}
        out["event_type"] = _strings(node, "event_type", what)
        if not out["event_type"]:
            raise Invalid(f"{what} needs event_type", line_of(node))
        data = node.get("event_data") or {}
        out["event_data"] = plain(_mapping(data, f"{what} event_data", line_of(node)))
    elif kind == "homeassistant":
        allowed |= {"event"}
        if node.get("event") not in ("start", "shutdown"):
            raise Invalid(f"{what}: event must be start or shutdown", line_of(node, "event"))
        out["event"] = node["event"]
    _check_keys(node, allowed, what)
    return out


def _pattern(node: Mapping[str, Any], key: str, top: int, what: str) -> tuple[str, int] | None:
    """``5`` (at 5), ``"/5"`` (every 5), ``"*"`` (any); None when not given."""
    if key not in node:
        return None
    value = str(node[key]).strip()
    try:
        if value == "*":
            return ("any", 0)
        if value.startswith("/"):
            step = int(value[1:])
            if step <= 0 or step > top:
                raise ValueError
            return ("every", step)
        number = int(value)
        if not 0 <= number <= top:
            raise ValueError
        return ("at", number)
    except ValueError:
        raise Invalid(
            f'{what}: {key} must be a number 0-{top}, "/N" or "*"', line_of(node, key)
        ) from None


def _numeric(node: Mapping[str, Any], out: dict[str, Any], what: str) -> None:
    out["above"] = _number_or_entity(node, "above", what)
    out["below"] = _number_or_entity(node, "below", what)
    if out["above"] is None and out["below"] is None:
        raise Invalid(f"{what} needs above or below", line_of(node))
    out["attribute"] = _text(node, "attribute", what)
    out["value_template"] = _text(node, "value_template", what)


# --- conditions ------------------------------------------------------------------------


def normalise_condition(node: Any, path: str, depth: int = 0) -> dict[str, Any]:
    if depth > MAX_NESTING:
        raise Invalid(f"{path}: conditions nested more than {MAX_NESTING} deep", line_of(node))
    if isinstance(node, str) and is_template(node):  # shorthand template condition
        return {"type": "template", "value_template": node, "line": None, "enabled": True}
    node = _mapping(node, path, line_of(node))
    kind = node.get("condition")
    if kind is None:  # shorthand: {and: [...]} / {or: [...]} / {not: [...]}
        for short in ("and", "or", "not"):
            if short in node:
                kind = short
                node = {"condition": short, "conditions": node[short]}
                break
    what = f"{path} ({kind})"
    if kind not in CONDITION_TYPES:
        raise Invalid(
            f"{path}: unknown or unsupported condition {kind!r} "
            f"(supported: {', '.join(CONDITION_TYPES)})",
            line_of(node),
        )
    out = _common(node, {"type": kind})
    allowed = {"condition", "alias", "enabled"}
    if kind == "state":
        allowed |= {"entity_id", "state", "attribute", "for", "match"}
        out["entity_id"] = _entity_ids(node, what)
        if "state" not in node:
            raise Invalid(f"{what} needs state", line_of(node))
        out["state"] = _strings(node, "state", what) if node["state"] is not None else ["None"]
        out["attribute"] = _text(node, "attribute", what)
        out["match"] = node.get("match", "all")
        if out["match"] not in ("all", "any"):
            raise Invalid(f"{what}: match must be all or any", line_of(node, "match"))
        if "for" in node:
            out["for"] = parse_duration(node["for"], f"{what} for", line_of(node, "for"))
    elif kind == "presence":
        allowed |= {"entity_id", "state", "for"}
        out["entity_id"] = _entity_ids(node, what)
        if node.get("state") not in PRESENCE_STATES:
            raise Invalid(f"{what}: state must be occupied or vacant", line_of(node, "state"))
        out["state"] = node["state"]
        if "for" in node:
            out["for"] = parse_duration(node["for"], f"{what} for", line_of(node, "for"))
    elif kind == "numeric_state":
        allowed |= {"entity_id", "above", "below", "attribute", "value_template"}
        out["entity_id"] = _entity_ids(node, what)
        _numeric(node, out, what)
    elif kind == "time":
        allowed |= {"after", "before", "weekday"}
        for key in ("after", "before"):
            value = node.get(key)
            line = line_of(node, key)
            out[key] = None if value is None else parse_time_of_day(value, f"{what} {key}", line)
        out["weekday"] = _weekdays(node, what)
        if out["after"] is None and out["before"] is None and not out["weekday"]:
            raise Invalid(f"{what} needs after, before or weekday", line_of(node))
    elif kind == "sun":
        allowed |= {"after", "before", "after_offset", "before_offset"}
        for key in ("after", "before"):
            if node.get(key) not in (None, "sunrise", "sunset"):
                raise Invalid(f"{what}: {key} must be sunrise or sunset", line_of(node, key))
            out[key] = node.get(key)
            offset_key = f"{key}_offset"
            offset = parse_duration(
                node.get(offset_key, 0), f"{what} {offset_key}", line_of(node, offset_key)
            )
            if not isinstance(offset, timedelta):
                raise Invalid(f"{what}: {offset_key} cannot be a template", line_of(node))
            out[offset_key] = offset
        if out["after"] is None and out["before"] is None:
            raise Invalid(f"{what} needs after or before", line_of(node))
    elif kind == "template":
        allowed |= {"value_template"}
        out["value_template"] = _text(node, "value_template", what, required=True)
    elif kind == "trigger":
        allowed |= {"id"}
        out["id"] = _strings(node, "id", what)
    else:  # and / or / not
        allowed |= {"conditions"}
        items = _list(node.get("conditions"))
        if not items:
            raise Invalid(f"{what} needs conditions", line_of(node))
        out["conditions"] = [
            normalise_condition(c, f"{path}.{i + 1}", depth + 1) for i, c in enumerate(items)
        ]
    _check_keys(node, allowed, what)
    return out


# --- actions ---------------------------------------------------------------------------

_ACTION_COMMON = {"alias", "enabled", "continue_on_error"}
_ACTION_KINDS = (
    ("delay", "delay"),
    ("wait_for_trigger", "wait_for_trigger"),
    ("wait_template", "wait_template"),
    ("choose", "choose"),
    ("if", "if"),
    ("repeat", "repeat"),
    ("parallel", "parallel"),
    ("sequence", "sequence"),
    ("variables", "variables"),
    ("stop", "stop"),
    ("event", "event"),
    ("condition", "condition"),
)


def normalise_actions(node: Any, path: str, depth: int = 0) -> list[dict[str, Any]]:
    if depth > MAX_NESTING:
        raise Invalid(f"{path}: actions nested more than {MAX_NESTING} deep", line_of(node))
    return [
        normalise_action(a, f"{path}.{i + 1}" if path else str(i + 1), depth)
        for i, a in enumerate(_list(node))
    ]


def normalise_action(node: Any, path: str, depth: int) -> dict[str, Any]:
    node = _mapping(node, f"action {path}", line_of(node))
    kind = next((k for key, k in _ACTION_KINDS if key in node), None)
    if kind is None and ("action" in node or "service" in node):
        kind = "service"
    what = f"action {path} ({kind})"
    if kind is None:
        keys = ", ".join(str(k) for k in node)
        raise Invalid(f"action {path}: unknown or unsupported action ({keys})", line_of(node))
    out = _common(node, {"type": kind, "path": path})
    out["continue_on_error"] = node.get("continue_on_error") is True
    allowed = set(_ACTION_COMMON)
    if kind == "service":
        allowed |= {"action", "service", "target", "data", "data_template", "entity_id"}
        name = node.get("action", node.get("service"))
        if not isinstance(name, str) or not (_SERVICE.match(name) or is_template(name)):
            line = line_of(node, "action") or line_of(node, "service")
            raise Invalid(f"{what}: {name!r} is not a service (domain.service)", line)
        out["service"] = name
        target = node.get("target") or {}
        target = _mapping(target, f"{what} target", line_of(node, "target"))
        _check_keys(target, {"entity_id", "device_id", "area_id"}, f"{what} target")
        entities = target.get("entity_id", node.get("entity_id"))
        out["target"] = {
            "entity_id": _list(plain(entities)),
            "device_id": _list(plain(target.get("device_id"))),
            "area_id": _list(plain(target.get("area_id"))),
        }
        for key in ("entity_id", "device_id", "area_id"):
            for item in out["target"][key]:
                if not isinstance(item, str):
                    raise Invalid(f"{what}: target {key} must be text", line_of(node, "target"))
        for entity_id in out["target"]["entity_id"]:
            if not is_template(entity_id) and not valid_entity_id(entity_id):
                raise Invalid(f"{what}: {entity_id!r} is not an entity id", line_of(node))
        data = node.get("data", node.get("data_template")) or {}
        out["data"] = plain(_mapping(data, f"{what} data", line_of(node, "data")))
    elif kind == "delay":
        allowed |= {"delay"}
        out["delay"] = parse_duration(node["delay"], f"{what} delay", line_of(node, "delay"))
    elif kind == "wait_for_trigger":
        allowed |= {"wait_for_trigger", "timeout", "continue_on_timeout"}
        triggers = _list(node["wait_for_trigger"])
        if not triggers:
            raise Invalid(f"{what} needs triggers", line_of(node))
        out["triggers"] = [normalise_trigger(t, i) for i, t in enumerate(triggers)]
        _timeout(node, out, what)
    elif kind == "wait_template":
        allowed |= {"wait_template", "timeout", "continue_on_timeout"}
        out["wait_template"] = _text(node, "wait_template", what, required=True)
        _timeout(node, out, what)
    elif kind == "choose":
        allowed |= {"choose", "default"}
        options = []
        for i, option in enumerate(_list(node["choose"])):
            option = _mapping(option, f"{what} option {i + 1}", line_of(node, "choose"))
            _check_keys(option, {"conditions", "sequence", "alias"}, f"{what} option {i + 1}")
            options.append(
                {
                    "conditions": [
                        normalise_condition(c, f"{path} option {i + 1} condition {j + 1}", depth)
                        for j, c in enumerate(_list(option.get("conditions")))
                    ],
                    "sequence": normalise_actions(
                        option.get("sequence"), f"{path}.choose{i + 1}", depth + 1
                    ),
                }
            )
        out["options"] = options
        out["default"] = normalise_actions(node.get("default"), f"{path}.default", depth + 1)
    elif kind == "if":
        allowed |= {"if", "then", "else"}
        out["if"] = [
            normalise_condition(c, f"{path} if {j + 1}", depth)
            for j, c in enumerate(_list(node["if"]))
        ]
        if "then" not in node:
            raise Invalid(f"{what} needs then", line_of(node))
        out["then"] = normalise_actions(node["then"], f"{path}.then", depth + 1)
        out["else"] = normalise_actions(node.get("else"), f"{path}.else", depth + 1)
    elif kind == "repeat":
        allowed |= {"repeat"}
        repeat = _mapping(node["repeat"], f"{what}", line_of(node, "repeat"))
        _check_keys(repeat, {"count", "while", "until", "for_each", "sequence"}, what)
        modes = [k for k in ("count", "while", "until", "for_each") if k in repeat]
        if len(modes) != 1:
            raise Invalid(f"{what} needs one of count, while, until, for_each", line_of(repeat))
        out["mode"] = modes[0]
        value = repeat[modes[0]]
        if modes[0] == "count":
            if not is_template(value) and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise Invalid(f"{what}: count must be a whole number", line_of(repeat, "count"))
            out["count"] = value
        elif modes[0] == "for_each":
            out["for_each"] = plain(value)
        else:
            out[modes[0]] = [
                normalise_condition(c, f"{path} {modes[0]} {j + 1}", depth)
                for j, c in enumerate(_list(value))
            ]
        out["sequence"] = normalise_actions(repeat.get("sequence"), f"{path}.repeat", depth + 1)
    elif kind == "parallel":
        allowed |= {"parallel"}
        branches = []
        for i, branch in enumerate(_list(node["parallel"])):
            if isinstance(branch, Mapping) and set(branch) <= {"sequence", "alias"}:
                branch = branch.get("sequence")
            branches.append(normalise_actions(branch, f"{path}.parallel{i + 1}", depth + 1))
        out["branches"] = branches
    elif kind == "sequence":
        allowed |= {"sequence"}
        out["sequence"] = normalise_actions(node["sequence"], f"{path}.sequence", depth + 1)
    elif kind == "variables":
        allowed |= {"variables"}
        out["variables"] = plain(_mapping(node["variables"], what, line_of(node, "variables")))
    elif kind == "stop":
        allowed |= {"stop", "error", "response_variable"}
        out["message"] = str(node["stop"])
        out["error"] = node.get("error") is True
    elif kind == "event":
        allowed |= {"event", "event_data", "event_data_template"}
        out["event_type"] = _text(node, "event", what, required=True)
        data = node.get("event_data", node.get("event_data_template")) or {}
        out["event_data"] = plain(_mapping(data, f"{what} event_data", line_of(node)))
    elif kind == "condition":
        condition = normalise_condition(node, f"action {path} condition", depth)
        out["condition"] = condition
        _common(node, out)
        return out  # its keys were checked as a condition's
    _check_keys(node, allowed | {kind} if kind != "service" else allowed, what)
    return out


def _timeout(node: Mapping[str, Any], out: dict[str, Any], what: str) -> None:
    out["timeout"] = (
        parse_duration(node["timeout"], f"{what} timeout", line_of(node, "timeout"))
        if "timeout" in node
        else None
    )
    out["continue_on_timeout"] = node.get("continue_on_timeout", True) is not False


# --- the automation --------------------------------------------------------------------


def _either(node: Mapping[str, Any], plural: str, singular: str) -> tuple[Any, str]:
    if plural in node and singular in node:
        raise Invalid(f"give {plural} or {singular}, not both", line_of(node, singular))
    key = plural if plural in node else singular
    return node.get(key), key


def _refuse_tags(node: Any, line: int | None) -> None:
    """YAML tags (``!secret``, ``!include``, ``!input``) name things this hub does not have."""
    tag = getattr(getattr(node, "tag", None), "value", None)
    if isinstance(tag, str) and tag.startswith("!"):
        raise Invalid(f"YAML tags such as {tag} are not supported", line)
    if isinstance(node, Mapping):
        for key, value in node.items():
            _refuse_tags(value, line_of(node, key) or line)
    elif isinstance(node, list):
        for value in node:
            _refuse_tags(value, line_of(value) or line)


def normalise_automation(node: Any, index: int) -> dict[str, Any]:
    """One automation as the engine wants it; raises Invalid with a line."""
    node = _mapping(node, f"automation {index + 1}", line_of(node))
    _refuse_tags(node, line_of(node))
    for key in node:
        if key not in AUTOMATION_KEYS:
            raise Invalid(f"unknown or unsupported key {key!r}", line_of(node, key))
    out: dict[str, Any] = {"line": line_of(node)}
    automation_id = node.get("id")
    if automation_id is not None and (
        not isinstance(automation_id, str | int) or isinstance(automation_id, bool)
    ):
        raise Invalid("id must be text", line_of(node, "id"))
    out["id"] = str(automation_id) if automation_id is not None else None
    out["alias"] = str(node.get("alias") or out["id"] or f"Automation {index + 1}")
    out["description"] = str(node.get("description") or "")
    mode = node.get("mode", "single")
    if mode not in MODES:
        raise Invalid(f"mode must be one of {', '.join(MODES)}", line_of(node, "mode"))
    out["mode"] = mode
    maximum = node.get("max", 10)
    if not isinstance(maximum, int) or isinstance(maximum, bool) or maximum < 1:
        raise Invalid("max must be a whole number of at least 1", line_of(node, "max"))
    out["max"] = maximum
    out["initial_state"] = node.get("initial_state", True) is not False
    variables = node.get("variables") or {}
    out["variables"] = plain(_mapping(variables, "variables", line_of(node, "variables")))
    triggers, key = _either(node, "triggers", "trigger")
    if not _list(triggers):
        raise Invalid("an automation needs at least one trigger", line_of(node))
    out["triggers"] = [normalise_trigger(t, i) for i, t in enumerate(_list(triggers))]
    conditions, _key = _either(node, "conditions", "condition")
    out["conditions"] = [
        normalise_condition(c, f"condition {i + 1}") for i, c in enumerate(_list(conditions))
    ]
    actions, _key = _either(node, "actions", "action")
    if not _list(actions):
        raise Invalid("an automation needs at least one action", line_of(node))
    out["actions"] = normalise_actions(actions, "")
    return out
