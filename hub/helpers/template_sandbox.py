"""The bounded Jinja sandbox: Jinja's immutable sandbox with every costly step charged.

On top of ``ImmutableSandboxedEnvironment`` (no private attributes, no mutation):

- no constant folding while compiling (the optimizer is off): ``{{ 'x' * 300000000 }}``
  is not evaluated at compile time, and compiling stays linear in the source;
- ``*``, ``**``, ``%`` and ``+`` are intercepted and checked before they run;
- methods of strings, numbers, lists and dicts are limited to a known list, and those
  that can make a big string from a small one check their arguments first;
- the parsed template is rewritten (:func:`instrument`) so each loop turn, macro call
  and block counts, and ``~`` and list/dict literals are measured;
- every value written out is measured first, ``range`` and ``dict`` are bounded and
  ``lipsum`` is gone; the filters are wrapped (``template_filters``).
"""

from __future__ import annotations

from typing import Any

from jinja2 import Undefined, nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from hub.helpers.template_budget import (
    ITEM_WEIGHT,
    RenderBudget,
    TemplateRefused,
    current_budget,
)
from hub.helpers.template_filters import (
    CONCAT_FILTER,
    LITERAL_FILTER,
    TURN_FILTER,
    argument,
    bounded_filters,
    charge_result,
    check_replace,
    join_weight,
    whole,
)

_TEXT_METHOD_NAMES = (
    "capitalize casefold center count encode endswith expandtabs find format format_map "
    "index isalnum isalpha isascii isdecimal isdigit isidentifier islower isnumeric "
    "isprintable isspace istitle isupper join ljust lower lstrip partition removeprefix "
    "removesuffix replace rfind rindex rjust rpartition rsplit rstrip split splitlines "
    "startswith strip swapcase title upper zfill"
)
_TEXT_METHODS = frozenset(_TEXT_METHOD_NAMES.split())
_METHODS: dict[type, frozenset[str]] = {
    str: _TEXT_METHODS,
    bytes: frozenset({"count", "decode", "endswith", "find", "hex", "index", "startswith"}),
    int: frozenset({"as_integer_ratio", "bit_count", "bit_length", "conjugate", "to_bytes"}),
    float: frozenset({"as_integer_ratio", "conjugate", "hex", "is_integer"}),
    list: frozenset({"copy", "count", "index"}),
    tuple: frozenset({"count", "index"}),
    dict: frozenset({"copy", "get", "items", "keys", "values"}),
}
_VALUE_TYPES = tuple(_METHODS)
_CHARGED = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.Block)


def _check_text_method(
    budget: RenderBudget, text: str | bytes, name: str, args: tuple, kwargs: dict
) -> tuple:
    if name in ("center", "ljust", "rjust", "zfill"):
        width = whole(argument(args, kwargs, 0, "width", 0))
        budget.allocate(max(len(text), width), "a padded string")
    elif name == "expandtabs":
        tabs = text.count("\t") if isinstance(text, str) else text.count(b"\t")
        budget.allocate(len(text) + tabs * whole(argument(args, kwargs, 0, "tabsize", 8)), "tabs")
    elif name == "replace":
        old, new = argument(args, kwargs, 0, "old", ""), argument(args, kwargs, 1, "new", "")
        check_replace(budget, text, old, new, argument(args, kwargs, 2, "count", -1))  # type: ignore[arg-type]  # bytes count alike
    elif name == "join" and args:
        items = list(args[0])
        budget.allocate(join_weight(budget, items, text), "a joined string")
        args = (items, *args[1:])
    elif name in ("split", "rsplit"):
        separator = argument(args, kwargs, 0, "sep", None)
        pieces = text.count(separator) + 1 if separator else len(text) // 2 + 1
        budget.allocate(len(text) + pieces * ITEM_WEIGHT, "a split string")
    elif name == "splitlines":
        budget.allocate(len(text) * (1 + ITEM_WEIGHT), "a split string")
    elif name in ("encode", "hex"):
        budget.allocate(len(text) * 4, "an encoded string")
    return args, kwargs


def _check_method(budget: RenderBudget, owner: Any, name: str, args: tuple, kwargs: dict) -> tuple:
    kind = type(owner)
    if kind not in _METHODS:  # a subclass (Markup is a str, bool an int)
        kind = next(t for t in _VALUE_TYPES if isinstance(owner, t))
    if name not in _METHODS[kind]:
        raise TemplateRefused(f"{kind.__name__}.{name}() is not available in templates")
    if isinstance(owner, str | bytes):
        return _check_text_method(budget, owner, name, args, kwargs)
    if name == "to_bytes":
        budget.allocate(whole(argument(args, kwargs, 0, "length", 1)), "bytes")
    elif name == "copy":
        budget.allocate(len(owner) * ITEM_WEIGHT, "a copy")
    return args, kwargs


def _check_multiply(budget: RenderBudget, left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        budget.check_int_bits(left.bit_length() + right.bit_length())
        return
    for sequence, times in ((left, right), (right, left)):
        if isinstance(times, int) and isinstance(sequence, str | bytes | list | tuple):
            size = len(sequence) if isinstance(sequence, str | bytes) else budget.weight(sequence)
            budget.allocate(size * max(times, 0), "a repeated value")
            return


def _check_power(budget: RenderBudget, base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        budget.check_int_bits(base.bit_length() * exponent)


def _check_add(budget: RenderBudget, left: Any, right: Any) -> None:
    if isinstance(left, str | bytes | list | tuple) and isinstance(
        right, str | bytes | list | tuple
    ):
        budget.allocate(budget.weight(left) + budget.weight(right), "a joined value")


def _check_modulo(budget: RenderBudget, left: Any, right: Any) -> None:
    if isinstance(left, str):
        budget.check_percent_format(left, right)


_BINOP_CHECKS = {"*": _check_multiply, "**": _check_power, "+": _check_add, "%": _check_modulo}


def bounded_range(*args: int) -> range:
    try:
        numbers = range(*args)
        length = len(numbers)
    except OverflowError as err:
        raise TemplateRefused("a range too long to count") from err
    current_budget().check_count(length, "range length")
    return numbers


def bounded_dict(*args: Any, **kwargs: Any) -> dict[Any, Any]:
    result = dict(*args, **kwargs)
    current_budget().check_value(result, "a dict")
    return result


@pass_context
def write_out(context: Context, value: Any) -> Any:
    """Jinja's ``finalize``: measures every value written out before it becomes text."""
    budget = current_budget()
    budget.tick()
    if isinstance(value, str):
        text = value
    elif value is None or isinstance(value, Undefined):
        return value
    else:
        budget.check_value(value, "a value written out")
        text = str(value)
    budget.emit(len(text))
    return text


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja environment whose operations charge the current render's budget."""

    intercepted_binops = frozenset(_BINOP_CHECKS)

    def __init__(self) -> None:
        # optimized=False: no evaluation while compiling (constant folding of `'x' * n`,
        # or of filters with huge widths), and no cubic-time folding of long chains.
        super().__init__(autoescape=False, optimized=False, finalize=write_out)
        self.globals.pop("lipsum", None)
        self.globals["range"] = bounded_range
        self.globals["dict"] = bounded_dict
        self.filters = bounded_filters(self.filters)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = current_budget()
        budget.tick()
        _BINOP_CHECKS[operator](budget, left, right)
        return self.binop_table[operator](left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, _VALUE_TYPES):
            # A listed method of a str, number, list or dict: checked, then called as is
            # (it takes no context, and attribute access already refused mutating ones).
            args, kwargs = _check_method(budget, owner, __obj.__name__, args, kwargs)
            result = __obj(*args, **kwargs)
        elif isinstance(owner, type) and issubclass(owner, _VALUE_TYPES):
            raise TemplateRefused(f"{owner.__name__}.{__obj.__name__}() is not available")
        else:
            budget.enter_call()
            try:
                result = super().call(__context, __obj, *args, **kwargs)
            finally:
                budget.depth -= 1
        charge_result(budget, result, "a call's result")
        return result

    def wrap_str_format(self, value: Any) -> Any:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        text: str = value.__self__
        is_format_map = value.__name__ == "format_map"

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            budget = current_budget()
            budget.tick()
            if is_format_map and args and isinstance(args[0], dict):
                values = list(args[0].values())
            else:
                values = [*args, *kwargs.values()]
            budget.check_str_format(text, values)
            return wrapper(*args, **kwargs)

        return bounded_format


def _literal_chars(body: list[nodes.Node]) -> int:
    """Template text a body writes each time it runs (nested loops and macros count
    their own)."""
    total, stack = 0, list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.TemplateData):
            total += len(node.data)
        elif isinstance(node, nodes.For):
            stack.extend(node.else_)  # runs once, where the loop is
        elif not isinstance(node, _CHARGED):
            stack.extend(node.iter_child_nodes())
    return total


class _Instrument(NodeTransformer):
    """Rewrites a parsed template so the budget sees what Jinja compiles to plain Python."""

    def __init__(self) -> None:
        self._constant: set[int] = set()

    def _count_turns(self, node: nodes.Node) -> nodes.Node:
        node = self.generic_visit(node)
        assert isinstance(node, _CHARGED)  # visited as one of them; Jinja keeps the type
        turn = nodes.Filter(nodes.Const(_literal_chars(node.body)), TURN_FILTER, [], [], None, None)
        node.body.insert(0, nodes.ExprStmt(turn, lineno=node.lineno))
        return node

    visit_For = visit_Macro = visit_CallBlock = visit_Block = _count_turns

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        visited = self.generic_visit(node)
        assert isinstance(visited, nodes.Concat)
        node = visited
        parts = nodes.Tuple(list(node.nodes), "load", lineno=node.lineno)
        return nodes.Filter(parts, CONCAT_FILTER, [], [], None, None, lineno=node.lineno)

    def visit_Const(self, node: nodes.Const) -> nodes.Node:
        self._constant.add(id(node))
        return node

    def _measure_literal(self, node: nodes.Node) -> nodes.Node:
        node = self.generic_visit(node)
        if getattr(node, "ctx", "load") != "load":
            return node  # an assignment target such as `{% set a, b = ... %}`
        if isinstance(node, nodes.Dict):
            children = [part for pair in node.items for part in (pair.key, pair.value)]
        else:
            assert isinstance(node, nodes.List | nodes.Tuple)  # the other literals visited
            children = node.items
        if all(id(child) in self._constant for child in children):
            self._constant.add(id(node))  # written out in the source: small already
            return node
        return nodes.Filter(node, LITERAL_FILTER, [], [], None, None, lineno=node.lineno)

    visit_List = visit_Tuple = visit_Dict = _measure_literal


def check_nesting(tree: nodes.Template, limit: int) -> None:
    """Refuse a template nested deeper than ``limit``: generating and compiling its
    Python grows much faster than its text (and Python refuses ~200 levels anyway)."""
    stack: list[tuple[nodes.Node, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise ValueError(f"nested more than {limit} levels deep")
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())


def instrument(tree: nodes.Template) -> nodes.Template:
    return _Instrument().visit(tree)
