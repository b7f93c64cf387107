"""Jinja's built-in filters behind the render budget.

Every filter ticks the budget's clock and pays for the text or list it returns; those
that can make much from little (``center``, ``indent``, ``replace``, ``join``, ``batch``,
``format``, ``tojson`` with indentation...) check their arguments first, so the big
value is never built. ``pprint`` and ``urlize`` (pure-Python, slow on long text, of no use
in a device template) are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context, markup_join, str_join

from hub.helpers.template_budget import (
    ITEM_WEIGHT,
    RenderBudget,
    TemplateRefused,
    current_budget,
)

SLOW_FILTER_MAX_CHARS = 4096  # wordwrap runs textwrap in Python: keep its input short
MAX_ROUND_DIGITS = 64
DROPPED_FILTERS = frozenset({"pprint", "urlize"})
TURN_FILTER = "bounded_turn"
CONCAT_FILTER = "bounded_concat"
LITERAL_FILTER = "bounded_literal"

Args = tuple[Any, ...]
Kwargs = dict[str, Any]
Precheck = Callable[[RenderBudget, Any, Args, Kwargs], Any]


def argument(args: Args, kwargs: Kwargs, index: int, name: str, default: Any) -> Any:
    """A filter's or method's argument, given by position or by name."""
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def whole(value: Any) -> int:
    return value if isinstance(value, int) else 0


def as_text(budget: RenderBudget, value: Any) -> str:
    """The value as the filter will see it, measured before ``str()`` builds it."""
    if isinstance(value, str):
        return value
    budget.check_value(value, "a value turned to text")
    return str(value)


def _center(budget: RenderBudget, value: Any, args: Args, kwargs: Kwargs) -> None:
    width = whole(argument(args, kwargs, 0, "width", 80))
    budget.allocate(max(len(as_text(budget, value)), width), "a padded string")


def _indent(budget: RenderBudget, value: Any, args: Args, kwargs: Kwargs) -> None:
    width = argument(args, kwargs, 0, "width", 4)
    step = len(width) if isinstance(width, str) else whole(width)
    text = as_text(budget, value)
    budget.allocate(len(text) + (text.count("\n") + 1) * step, "an indented string")


def _wordwrap(budget: RenderBudget, value: Any, args: Args, kwargs: Kwargs) -> None:
    text = as_text(budget, value)
    if len(text) > SLOW_FILTER_MAX_CHARS:
        raise TemplateRefused(f"wordwrap of more than {SLOW_FILTER_MAX_CHARS} characters")
    wrap = argument(args, kwargs, 2, "wrapstring", None) or "\n"
    budget.allocate(len(text) + (len(text) + 1) * len(str(wrap)), "a wrapped string")


def check_replace(budget: RenderBudget, text: str, old: str, new: str, count: Any) -> None:
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    growth = max(len(new) - len(old), 0)
    budget.allocate(len(text) + found * growth, "a replaced string")


def _replace(budget: RenderBudget, value: Any, args: Args, kwargs: Kwargs) -> None:
    old = str(argument(args, kwargs, 0, "old", ""))
    new = str(argument(args, kwargs, 1, "new", ""))
    check_replace(
        budget, as_text(budget, value), old, new, argument(args, kwargs, 2, "count", None)
    )


def _format(budget: RenderBudget, value: Any, args: Args, kwargs: Kwargs) -> None:
    budget.check_percent_format(as_text(budget, value), kwargs or args)


def join_weight(budget: RenderBudget, items: list[Any], separator: Any) -> int:
    """Size of the joined text; stops adding once it is over the limit anyway."""
    limit = budget.limits.max_output_chars
    total = max(len(items) - 1, 0) * len(str(separator))
    for index, item in enumerate(items):
        if total > limit:
            break
        if not index & 1023:
            budget.tick()
        total += budget.weight(item)
    return total


def _join(budget: RenderBudget, value: Any, args: Args, kwargs: Kwargs) -> tuple:
    items = list(value)
    budget.allocate(
        join_weight(budget, items, argument(args, kwargs, 0, "d", "")), "a joined string"
    )
    return items, args, kwargs


def _tojson(budget: RenderBudget, value: Any, args: Args, kwargs: Kwargs) -> None:
    if argument(args, kwargs, 0, "indent", None) is not None:
        raise TemplateRefused("tojson with indent (its size grows with nesting)")
    budget.check_value(value, "a value turned to JSON")


def _string(budget: RenderBudget, value: Any, args: Args, kwargs: Kwargs) -> None:
    budget.check_value(value, "a value turned to a string")


def _list(budget: RenderBudget, value: Any, args: Args, kwargs: Kwargs) -> None:
    if isinstance(value, str):
        budget.allocate(len(value) * ITEM_WEIGHT, "a list of characters")


def _batch(budget: RenderBudget, value: Any, args: Args, kwargs: Kwargs) -> None:
    count = whole(argument(args, kwargs, 0, "linecount", 0))
    budget.check_count(count, "batch size")
    fill = argument(args, kwargs, 1, "fill_with", None)
    if fill is not None:
        budget.allocate(count * (ITEM_WEIGHT + budget.weight(fill)), "a batch filling")


def _slice(budget: RenderBudget, value: Any, args: Args, kwargs: Kwargs) -> None:
    count = whole(argument(args, kwargs, 0, "slices", 0))
    budget.check_count(count, "number of slices")
    fill = argument(args, kwargs, 1, "fill_with", None)
    budget.allocate(count * (ITEM_WEIGHT + budget.weight(fill)), "slices")


def _round(budget: RenderBudget, value: Any, args: Args, kwargs: Kwargs) -> None:
    digits = argument(args, kwargs, 0, "precision", 0)
    if isinstance(digits, int) and abs(digits) > MAX_ROUND_DIGITS:
        raise TemplateRefused(f"round to {digits} digits (limit {MAX_ROUND_DIGITS})")


def _sum(budget: RenderBudget, value: Any, args: Args, kwargs: Kwargs) -> None:
    start = argument(args, kwargs, 1, "start", 0)
    if not isinstance(start, int | float):
        raise TemplateRefused("sum with a start that is not a number (lists add up slowly)")


PRECHECKS: dict[str, Precheck] = {
    "center": _center,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "replace": _replace,
    "format": _format,
    "join": _join,
    "tojson": _tojson,
    "string": _string,
    "list": _list,
    "batch": _batch,
    "slice": _slice,
    "round": _round,
    "sum": _sum,
}


def charge_result(budget: RenderBudget, result: Any, what: str) -> None:
    """Pay for what a filter or call returned (text by length, containers by items)."""
    if isinstance(result, str | bytes):
        budget.allocate(len(result), what)
    elif isinstance(result, list | tuple | dict):
        budget.allocate(len(result) * ITEM_WEIGHT, what)


def _first_argument(func: Callable[..., Any]) -> Callable[[Context], tuple[Any, ...]]:
    """What Jinja passes a filter before its value (its pass_context & co. decorators);
    worked out once here instead of by Context.call on every use."""
    kind = getattr(getattr(func, "jinja_pass_arg", None), "name", None)
    if kind == "context":
        return lambda context: (context,)
    if kind == "eval_context":
        return lambda context: (context.eval_ctx,)
    if kind == "environment":
        return lambda context: (context.environment,)
    return lambda context: ()


def _bounded(name: str, func: Callable[..., Any], precheck: Precheck | None) -> Callable:
    what = f"the result of |{name}"
    first = _first_argument(func)

    @pass_context
    def bounded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.tick()
        if precheck is not None:
            replaced = precheck(budget, value, args, kwargs)
            if replaced is not None:
                value, args, kwargs = replaced
        result = func(*first(context), value, *args, **kwargs)
        charge_result(budget, result, what)
        return result

    return bounded


@pass_context
def bounded_turn(context: Context, literal_chars: int) -> str:
    """Start of a loop turn, macro call or block: counts it and the text it writes."""
    current_budget().turn(literal_chars)
    return ""


@pass_context
def bounded_concat(context: Context, parts: tuple[Any, ...]) -> str:
    """The ``~`` operator: refuses a result that would be too big before building it."""
    budget = current_budget()
    budget.tick()
    budget.allocate(sum(budget.weight(part) for part in parts), "a joined string")
    return markup_join(parts) if context.eval_ctx.autoescape else str_join(parts)


@pass_context
def bounded_literal(context: Context, value: Any) -> Any:
    """A list, tuple or dict written in the template with variables in it."""
    budget = current_budget()
    budget.tick()
    budget.check_value(value, "a literal")
    budget.allocate(len(value) * ITEM_WEIGHT, "a literal")
    return value


def bounded_filters(filters: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """The given filters wrapped, plus the budget's own (used by the rewritten template)."""
    result = {
        name: _bounded(name, func, PRECHECKS.get(name))
        for name, func in filters.items()
        if name not in DROPPED_FILTERS
    }
    result[TURN_FILTER] = bounded_turn
    result[CONCAT_FILTER] = bounded_concat
    result[LITERAL_FILTER] = bounded_literal
    return result
