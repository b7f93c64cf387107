"""Templates of discovery configs (``value_template``...): a fast path for the usual
``{{ value_json.key }}``, the bounded sandbox (``hub.helpers.template``) for the rest.

A template that goes over a limit is *refused*: it raises TemplateRefused from then on
without running again, so a hostile template costs one bounded render, not one per
message. Its entity shows the reason (``MqttEntity``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from hub.helpers.template import (
    BoundedTemplate,
    TemplateCompiler,
    TemplateLimits,
    TemplateRefused,
    TemplateRenderError,
)
from hub.integrations.mqtt.const import (
    MAX_PAYLOAD_BYTES,
    TEMPLATE_CACHE_BYTES,
    TEMPLATE_CPU_SECONDS,
    TEMPLATE_MAX_ALLOCATED,
    TEMPLATE_MAX_ITERATIONS,
    TEMPLATE_MAX_SOURCE_CHARS,
)

__all__ = [
    "TemplateCompiler",
    "TemplateRefused",
    "TemplateRenderError",
    "ValueTemplate",
    "new_template_compiler",
]

MQTT_TEMPLATE_LIMITS = TemplateLimits(
    max_source_chars=TEMPLATE_MAX_SOURCE_CHARS,
    max_output_chars=MAX_PAYLOAD_BYTES,  # never more than a message could carry
    max_allocated=TEMPLATE_MAX_ALLOCATED,
    max_iterations=TEMPLATE_MAX_ITERATIONS,
    cpu_seconds=TEMPLATE_CPU_SECONDS,
)
# `{{ value_json.key }}` / `{{ value_json['key'] }}` is most of what devices send;
# a dict lookup renders it the same way Jinja would, at a fraction of the cost.
_SIMPLE_JSON_KEY = re.compile(
    r"^\{\{\s*value_json(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*'([^'\\]+)'\s*\]|\[\s*\"([^\"\\]+)\"\s*\])\s*\}\}$"
)
_MISSING = object()


def new_template_compiler() -> TemplateCompiler:
    """The compiler (and cache) one MQTT connection's entities share."""
    return TemplateCompiler(MQTT_TEMPLATE_LIMITS, TEMPLATE_CACHE_BYTES)


def _json_or_missing(payload: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return _MISSING


def _render_value(value: Any) -> str:
    return "" if value is _MISSING else str(value)


class ValueTemplate:
    """A compiled template; construction raises ValueError for a broken one.

    ``refused`` is set when the template went over a limit, already when tried with no
    input at construction (a cost that does not depend on the message).
    """

    def __init__(self, source: str, compiler: TemplateCompiler) -> None:
        if not isinstance(source, str) or len(source) > compiler.limits.max_source_chars:
            raise ValueError(
                "value_template must be a string of at most "
                f"{compiler.limits.max_source_chars} characters"
            )
        self.source = source
        match = _SIMPLE_JSON_KEY.match(source.strip())
        self._json_key = next((g for g in match.groups() if g), None) if match else None
        self._template: BoundedTemplate | None = None
        self.refused: str | None = None
        if self._json_key is None:
            self._template = compiler.compile(source)
            self.refused = self._template.dry_run()
        self._uses_json = "value_json" in source

    def render(self, payload: str) -> str:
        if self.refused is not None:
            raise TemplateRefused(self.refused)
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
        except TemplateRefused as err:
            self.refused = str(err)
            raise
