"""Checks that need the running hub: templates that do not compile, `sun` without a
location (errors), and entities or services the hub does not know (warnings: a device
may come later, so the automation still loads)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hub.integrations.automation.env import Env
from hub.integrations.automation.nodes import Invalid, is_template

if TYPE_CHECKING:
    from hub.core.hub import Hub

_NESTED = (
    "triggers",
    "conditions",
    "actions",
    "options",
    "sequence",
    "default",
    "then",
    "else",
    "if",
    "while",
    "until",
    "branches",
    "condition",
)


def _walk(node: Any, line: int | None = None) -> Iterator[tuple[Any, int | None]]:
    """Every value in a normalised config with the line of the nearest node that has one."""
    if isinstance(node, Mapping):
        line = node.get("line") or line
        for key, value in node.items():
            if key != "line":
                yield from _walk(value, line)
        yield node, line
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, line)
    else:
        yield node, line


def semantic_problem(config: Mapping[str, Any], env: Env) -> Invalid | None:
    for value, line in _walk(config):
        if is_template(value):
            problem = env.templates.problem(value)
            if problem is not None:
                return Invalid(f"template {value[:80]!r}: {problem}", line)
        elif isinstance(value, Mapping) and not env.sun.configured:
            uses_sun = value.get("type") == "sun"
            if uses_sun:
                return Invalid(
                    "sun needs the hub's location: set ETHOS_HUB_LATITUDE and ETHOS_HUB_LONGITUDE",
                    line,
                )
    return None


def _entities(node: Any) -> Iterator[str]:
    for value, _line in _walk(node):
        if isinstance(value, Mapping):
            ids = value.get("entity_id")
            if isinstance(ids, list):
                yield from (i for i in ids if isinstance(i, str) and not is_template(i))
            target = value.get("target")
            if isinstance(target, Mapping):
                yield from (
                    i
                    for i in target.get("entity_id", [])
                    if isinstance(i, str) and not is_template(i)
                )


def warnings_for(config: Mapping[str, Any], hub: Hub) -> list[str]:
    found: list[str] = []
    for entity_id in dict.fromkeys(_entities(config)):
        if hub.states.get(entity_id) is None and hub.entities.get(entity_id) is None:
            found.append(f"unknown entity {entity_id}")
    for value, _line in _walk(config["actions"]):
        if isinstance(value, Mapping) and value.get("type") == "service":
            service = value["service"]
            if not is_template(service) and not hub.services.has_service(*service.split(".", 1)):
                found.append(f"unknown service {service}")
    return list(dict.fromkeys(found))
