"""Conditions compiled from their normalised form into checks that explain themselves.

``compile_condition(config, env)`` returns ``check(variables, results) -> bool``; every
check appends a :class:`ConditionResult` saying what it saw (``light.hall is 'on', wanted
'off'``), which is how a trace answers "why didn't it run?".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from typing import Any

from hub.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from hub.core.states import State
from hub.integrations.automation.env import Env
from hub.integrations.automation.schema import PRESENCE_STATES, WEEKDAYS
from hub.integrations.automation.templating import TemplateRenderError
from hub.integrations.automation.trace import ConditionResult

Results = list[ConditionResult] | None
Check = Callable[[Mapping[str, Any], Results], bool]


class ConditionError(Exception):
    """A condition could not be evaluated (a template failed): the run stops with it."""


def _note(results: Results, path: str, kind: str, result: bool, detail: str) -> bool:
    if results is not None:
        results.append(ConditionResult(path, kind, result, detail))
    return result


def duration_of(value: Any, env: Env, variables: Mapping[str, Any]) -> timedelta:
    """A duration, rendering it first when it is a template."""
    if isinstance(value, timedelta):
        return value
    from hub.integrations.automation.schema import Invalid, parse_duration

    rendered = env.templates.render(value, variables)
    try:
        result = parse_duration(rendered, "the duration", None)
    except Invalid as err:
        raise ConditionError(f"{value!r} gave {rendered!r}: {err.message}") from None
    if not isinstance(result, timedelta):
        raise ConditionError(f"{value!r} rendered another template")
    return result


def human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0 and seconds:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds:
        return f"{seconds // 60} min"
    return f"{delta.total_seconds():g} s"


def numeric_value(
    state: State | None, attribute: str | None, template: str | None, env: Env
) -> float | None:
    """The number a numeric_state trigger or condition compares; None when there is none."""
    if state is None:
        return None
    value: Any
    if template is not None:
        value = env.templates.render(template, {"state": state})
    elif attribute is not None:
        value = state.attributes.get(attribute)
    else:
        value = state.state
    if isinstance(value, bool) or value in (None, STATE_UNKNOWN, STATE_UNAVAILABLE):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def limit_value(limit: Any, env: Env) -> float | None:
    """``above``/``below``: a number, or the number an entity's state holds."""
    if limit is None or isinstance(limit, float):
        return limit
    state = env.hub.states.get(limit)
    try:
        return float(state.state) if state is not None else None
    except ValueError:
        return None


def in_range(value: float, above: Any, below: Any, env: Env) -> bool:
    low, high = limit_value(above, env), limit_value(below, env)
    if above is not None and (low is None or value <= low):
        return False
    return not (below is not None and (high is None or value >= high))


def compile_condition(config: Mapping[str, Any], env: Env, path: str) -> Check:
    if not config.get("enabled", True):
        return lambda _variables, results: _note(results, path, config["type"], True, "disabled")
    kind = config["type"]
    builder = _BUILDERS[kind]
    check = builder(config, env, path)

    def guarded(variables: Mapping[str, Any], results: Results) -> bool:
        try:
            return check(variables, results)
        except TemplateRenderError as err:
            _note(results, path, kind, False, f"template failed: {err}")
            raise ConditionError(f"condition {path}: template failed: {err}") from err

    return guarded


def compile_conditions(configs: list[Mapping[str, Any]], env: Env, prefix: str) -> Check:
    """All of them must pass; evaluation stops at the first that does not."""
    checks = [
        compile_condition(c, env, f"{prefix}{i + 1}" if prefix else str(i + 1))
        for i, c in enumerate(configs)
    ]

    def check_all(variables: Mapping[str, Any], results: Results) -> bool:
        return all(check(variables, results) for check in checks)

    return check_all


def _state(config: Mapping[str, Any], env: Env, path: str) -> Check:
    wanted = [str(s) for s in config["state"]]
    attribute = config.get("attribute")
    duration = config.get("for")
    want_any = config.get("match") == "any"
    if duration is not None and not attribute:
        for entity_id in config["entity_id"]:
            env.track(entity_id)

    def one(entity_id: str, variables: Mapping[str, Any]) -> tuple[bool, str]:
        state = env.hub.states.get(entity_id)
        if state is None:
            return False, f"{entity_id} does not exist"
        value = state.attributes.get(attribute) if attribute else state.state
        name = f"{entity_id}.{attribute}" if attribute else entity_id
        if str(value) not in wanted:
            return False, f"{name} is {value!r}, wanted {' or '.join(map(repr, wanted))}"
        if duration is not None:
            needed = duration_of(duration, env, variables)
            since = state.last_updated if attribute else env.held_since(entity_id)
            held = env.clock.now() - (since or state.last_changed)
            if held < needed:
                return False, f"{name} is {value!r} for {human(held)}, not yet {human(needed)}"
        return True, f"{name} is {value!r}"

    def check(variables: Mapping[str, Any], results: Results) -> bool:
        answers = [one(e, variables) for e in config["entity_id"]]
        passed = any(ok for ok, _ in answers) if want_any else all(ok for ok, _ in answers)
        return _note(results, path, "state", passed, "; ".join(text for _, text in answers))

    return check


def _presence(config: Mapping[str, Any], env: Env, path: str) -> Check:
    state_check = _state(
        {**config, "state": [PRESENCE_STATES[config["state"]]], "match": "all"}, env, path
    )

    def check(variables: Mapping[str, Any], results: Results) -> bool:
        inner: list[ConditionResult] = []
        passed = state_check(variables, inner)
        detail = inner[0].detail.replace("'on'", "occupied").replace("'off'", "vacant")
        return _note(results, path, "presence", passed, detail)

    return check


def _numeric_state(config: Mapping[str, Any], env: Env, path: str) -> Check:
    def check(variables: Mapping[str, Any], results: Results) -> bool:
        details, passed = [], True
        for entity_id in config["entity_id"]:
            value = numeric_value(
                env.hub.states.get(entity_id),
                config.get("attribute"),
                config.get("value_template"),
                env,
            )
            if value is None:
                passed = False
                details.append(f"{entity_id} has no number")
                continue
            ok = in_range(value, config["above"], config["below"], env)
            passed &= ok
            bounds = " and ".join(
                f"{word} {limit}"
                for word, limit in (("above", config["above"]), ("below", config["below"]))
                if limit is not None
            )
            details.append(f"{entity_id} is {value:g}, {'' if ok else 'not '}{bounds}")
        return _note(results, path, "numeric_state", passed, "; ".join(details))

    return check


def time_of(value: time | str, env: Env, now: datetime) -> time | None:
    """A `time` condition's bound: a time, or the time an entity holds."""
    if isinstance(value, time):
        return value
    state = env.hub.states.get(value)
    if state is None:
        return None
    try:
        return time.fromisoformat(state.state)
    except ValueError:
        try:
            return datetime.fromisoformat(state.state).astimezone(now.tzinfo).time()
        except ValueError:
            return None


def _time(config: Mapping[str, Any], env: Env, path: str) -> Check:
    def check(variables: Mapping[str, Any], results: Results) -> bool:
        now = env.local_now()
        today = WEEKDAYS[now.weekday()]
        if config["weekday"] and today not in config["weekday"]:
            return _note(results, path, "time", False, f"today is {today}")
        after = time_of(config["after"], env, now) if config["after"] is not None else None
        before = time_of(config["before"], env, now) if config["before"] is not None else None
        clock = now.time().replace(tzinfo=None)
        if after is not None and before is not None and before < after:
            passed = clock >= after or clock < before  # over midnight
        else:
            passed = (after is None or clock >= after) and (before is None or clock < before)
        window = f"after {after or '—'} and before {before or '—'}"
        return _note(results, path, "time", passed, f"it is {clock:%H:%M:%S}, wanted {window}")

    return check


def _sun(config: Mapping[str, Any], env: Env, path: str) -> Check:
    def check(variables: Mapping[str, Any], results: Results) -> bool:
        now = env.clock.now()
        day = now.astimezone(env.time_zone).date()
        passed, details = True, []
        for key, compare in (("after", lambda n, t: n > t), ("before", lambda n, t: n < t)):
            event = config[key]
            if event is None:
                continue
            when = env.sun.event_on(event, day)
            if when is None:
                passed = False
                details.append(f"no {event} today")
                continue
            when += config[f"{key}_offset"]
            ok = compare(now, when)
            passed &= ok
            local = when.astimezone(env.time_zone)
            details.append(f"{'' if ok else 'not '}{key} {event} ({local:%H:%M})")
        return _note(results, path, "sun", passed, ", ".join(details))

    return check


def _template(config: Mapping[str, Any], env: Env, path: str) -> Check:
    source = config["value_template"]

    def check(variables: Mapping[str, Any], results: Results) -> bool:
        passed = env.templates.render_bool(source, variables)
        return _note(results, path, "template", passed, f"{source} is {passed}")

    return check


def _trigger(config: Mapping[str, Any], env: Env, path: str) -> Check:
    def check(variables: Mapping[str, Any], results: Results) -> bool:
        fired = str((variables.get("trigger") or {}).get("id"))
        passed = fired in config["id"]
        return _note(results, path, "trigger", passed, f"trigger {fired!r} fired")

    return check


def _group(config: Mapping[str, Any], env: Env, path: str) -> Check:
    kind = config["type"]
    checks = [
        compile_condition(c, env, f"{path}.{i + 1}") for i, c in enumerate(config["conditions"])
    ]

    def check(variables: Mapping[str, Any], results: Results) -> bool:
        if kind == "and":
            passed = all(c(variables, results) for c in checks)
        elif kind == "or":
            passed = any(c(variables, results) for c in checks)
        else:
            passed = not any(c(variables, results) for c in checks)
        return _note(results, path, kind, passed, f"{kind}: {passed}")

    return check


_BUILDERS: dict[str, Callable[[Mapping[str, Any], Env, str], Check]] = {
    "state": _state,
    "presence": _presence,
    "numeric_state": _numeric_state,
    "time": _time,
    "sun": _sun,
    "template": _template,
    "trigger": _trigger,
    "and": _group,
    "or": _group,
    "not": _group,
}
