"""``value_template`` rendering in a sandboxed Jinja environment, with a fast path."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENV = ImmutableSandboxedEnvironment(autoescape=False)
# `{{ value_json.key }}` / `{{ value_json['key'] }}` is most of what devices send;
# a dict lookup renders it the same way Jinja would, at a fraction of the cost.
_SIMPLE_JSON_KEY = re.compile(
    r"^\{\{\s*value_json(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*'([^'\\]+)'\s*\]|\[\s*\"([^\"\\]+)\"\s*\])\s*\}\}$"
)
_MISSING = object()


class TemplateRenderError(ValueError):
    """The template could not be rendered for this payload."""


def _json_or_missing(payload: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return _MISSING


def _render_value(value: Any) -> str:
    return "" if value is _MISSING else str(value)


class ValueTemplate:
    """A compiled template; construction raises ValueError for a broken one."""

    def __init__(self, source: str) -> None:
        if not isinstance(source, str) or len(source) > 4096:
            raise ValueError("value_template must be a string of at most 4096 characters")
        self.source = source
        match = _SIMPLE_JSON_KEY.match(source.strip())
        self._json_key = next((g for g in match.groups() if g), None) if match else None
        self._template = None if self._json_key else _compile(source)
        self._uses_json = "value_json" in source

    def render(self, payload: str) -> str:
        if self._json_key is not None:
            data = _json_or_missing(payload)
            if isinstance(data, dict):
                return _render_value(data.get(self._json_key, _MISSING))
            return ""
        variables: dict[str, Any] = {"value": payload}
        if self._uses_json:
            data = _json_or_missing(payload)
            if data is not _MISSING:
                variables["value_json"] = data
        try:
            return self._template.render(variables).strip()  # type: ignore[union-attr]
        except (TemplateError, ArithmeticError, TypeError, ValueError) as err:
            raise TemplateRenderError(str(err)) from err


@lru_cache(maxsize=512)
def _compile(source: str):
    try:
        return _ENV.from_string(source)
    except TemplateError as err:
        raise ValueError(f"broken template: {err}") from err
