"""Automation templates: the hub's bounded sandbox with Home Assistant's state helpers.

``states('light.kitchen')``, ``states.light.kitchen.state``, ``is_state``, ``state_attr``,
``is_state_attr``, ``has_value``, ``now()``, ``utcnow()``, ``as_timestamp`` — each call goes
through the sandbox's limits like any other. Rendered values that read as numbers, booleans,
lists or mappings become those types (as Home Assistant does), so ``brightness: "{{ 100 }}"``
sends a number.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from hub.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from hub.core.states import State
from hub.helpers.template import (
    BoundedTemplate,
    TemplateCompiler,
    TemplateLimits,
    TemplateRefused,
    TemplateRenderError,
)
from hub.integrations.automation.const import TEMPLATE_CACHE_BYTES, TEMPLATE_CPU_SECONDS
from hub.integrations.automation.nodes import is_template

if TYPE_CHECKING:
    from hub.core.hub import Hub

__all__ = ["AutomationTemplates", "TemplateRefused", "TemplateRenderError"]

# Attributes the sandbox reads to decide whether an object may be called: never domains.
_SANDBOX_MARKERS = frozenset({"unsafe_callable", "alters_data"})
_LITERAL_START = (*tuple("-0123456789[{("), "True", "False", "None")
_MAX_LITERAL_CHARS = 4096


class _Domain:
    """``states.light``: the domain's states by object id."""

    def __init__(self, hub: Hub, domain: str) -> None:
        self._hub = hub
        self._domain = domain

    def __getattr__(self, object_id: str) -> State | None:
        if object_id.startswith("_") or object_id in _SANDBOX_MARKERS:
            raise AttributeError(object_id)
        return self._hub.states.get(f"{self._domain}.{object_id}")

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._hub.states.async_all(self._domain))


class _States:
    """Both ``states('light.x')`` (the state text) and ``states.light.x`` (the State)."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def __call__(self, entity_id: str) -> str:
        state = self._hub.states.get(str(entity_id).lower())
        return STATE_UNKNOWN if state is None else state.state

    def __getattr__(self, domain: str) -> _Domain:
        if domain.startswith("_") or domain in _SANDBOX_MARKERS:
            raise AttributeError(domain)
        return _Domain(self._hub, domain)


def _native(text: str) -> Any:
    """The value a rendered text stands for (``"12"`` → 12, ``"[1, 2]"`` → a list)."""
    stripped = text.strip()
    if not stripped or len(stripped) > _MAX_LITERAL_CHARS:
        return text
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    if not stripped.startswith(_LITERAL_START):
        return text
    try:
        value = ast.literal_eval(stripped)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return text
    if isinstance(value, str | bytes | complex | set | frozenset):
        return text
    # "007" stays text (a code, not the number 7), as Home Assistant keeps it.
    if isinstance(value, int) and stripped.lstrip("-").startswith("0") and value != 0:
        return text
    return value


class AutomationTemplates:
    """Compiles and renders the automations' templates (one cache for all of them)."""

    def __init__(self, hub: Hub, now: Callable[[], datetime], time_zone: tzinfo) -> None:
        self._hub = hub
        self._now = now
        self._tz = time_zone
        functions: dict[str, Callable[..., Any]] = {
            "states": _States(hub),
            "is_state": self._is_state,
            "state_attr": self._state_attr,
            "is_state_attr": lambda eid, name, value: self._state_attr(eid, name) == value,
            "has_value": self._has_value,
            "now": lambda: self._now().astimezone(self._tz),
            "utcnow": self._now,
            "as_timestamp": _as_timestamp,
        }
        limits = TemplateLimits(cpu_seconds=TEMPLATE_CPU_SECONDS)
        self.compiler = TemplateCompiler(limits, TEMPLATE_CACHE_BYTES, functions=functions)

    def _is_state(self, entity_id: str, value: Any) -> bool:
        state = self._hub.states.get(str(entity_id).lower())
        if state is None:
            return False
        return state.state in value if isinstance(value, list) else state.state == str(value)

    def _state_attr(self, entity_id: str, name: str) -> Any:
        state = self._hub.states.get(str(entity_id).lower())
        return None if state is None else state.attributes.get(name)

    def _has_value(self, entity_id: str) -> bool:
        state = self._hub.states.get(str(entity_id).lower())
        return state is not None and state.state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)

    def problem(self, source: str) -> str | None:
        """Why a template cannot be used (broken, or refused with no input), or None."""
        try:
            template = self.compiler.compile(source)
        except ValueError as err:
            return str(err)
        return template.dry_run()

    def compile(self, source: str) -> BoundedTemplate:
        try:
            return self.compiler.compile(source)
        except ValueError as err:
            raise TemplateRenderError(str(err)) from err

    def render_text(self, source: str, variables: Mapping[str, Any]) -> str:
        """The template's text; raises TemplateRenderError (or TemplateRefused)."""
        return self.compile(source).render(variables)

    def render(self, value: Any, variables: Mapping[str, Any]) -> Any:
        """Render every template inside ``value`` (mappings and lists too), natively typed."""
        if isinstance(value, str):
            return _native(self.render_text(value, variables)) if is_template(value) else value
        if isinstance(value, Mapping):
            return {k: self.render(v, variables) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v, variables) for v in value]
        return value

    def render_bool(self, source: str, variables: Mapping[str, Any]) -> bool:
        """A template condition's answer: true, yes, on, enable or a non-zero number."""
        text = self.render_text(source, variables).strip().lower()
        if text in ("true", "yes", "on", "enable"):
            return True
        try:
            return float(text) != 0
        except ValueError:
            return False


def _as_timestamp(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None
