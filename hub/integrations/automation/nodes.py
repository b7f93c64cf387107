"""What the automations code shares about automations as written: the problem it raises
(:class:`Invalid`, with a line), the keys an automation has, and ruamel's nodes read back
as plain data. Kept apart from :mod:`schema` so that a hub without automations loads no
checker (``schema`` is imported when the first automation is checked).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TEMPLATE_MARK = ("{{", "{%")
AUTOMATION_KEYS = frozenset(
    {
        "id",
        "alias",
        "description",
        "mode",
        "max",
        "max_exceeded",
        "initial_state",
        "variables",
        "trace",
        "triggers",
        "trigger",
        "conditions",
        "condition",
        "actions",
        "action",
    }
)


class Invalid(ValueError):
    """A problem in an automation, with the (1-based) line it is on when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def line_of(node: Any, key: Any = None) -> int | None:
    """1-based line of a ruamel node (or of one of its keys); None for plain data."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if key is not None:
            return int(lc.key(key)[0]) + 1
        return int(lc.line) + 1
    except (KeyError, TypeError, AttributeError, IndexError):
        return None


def is_template(value: Any) -> bool:
    return isinstance(value, str) and any(mark in value for mark in _TEMPLATE_MARK)


def plain(value: Any) -> Any:
    """ruamel's commented containers and scalar types as plain Python data."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value
