"""What one template render may spend, and the arithmetic that keeps it within.

A render gets a :class:`RenderBudget`: CPU time, loop turns, call depth, characters
written out and bytes built. The sandbox charges it *before* each operation that could
be expensive (``'x' * n``, a wide ``center``, a loop turn), so a hostile template is
stopped before the big allocation, not after. Sizes are "weights": about the length of
a value's ``str()``, which also bounds its memory.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from string import Formatter
from typing import Any

from jinja2 import Undefined
from jinja2.utils import Namespace

_SCALAR_WEIGHT = 24  # a float, bool or None written out, more or less
_OPAQUE_WEIGHT = 64  # a loop, macro or cycler object written out
ITEM_WEIGHT = 8  # a reference in a list or dict
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")
_DIGITS = re.compile(r"\d+")
_FORMATTER = Formatter()
_FIRST_CPU_CHECK_S = 0.001


class TemplateRenderError(ValueError):
    """The template could not be rendered for this input (undefined value, wrong type...)."""


class TemplateRefused(TemplateRenderError):
    """The template went over a limit of its budget; the text says which."""


@dataclass(frozen=True, slots=True)
class TemplateLimits:
    """Limits of one render (and of the source that is compiled)."""

    max_source_chars: int = 4096
    max_nesting: int = 32  # expressions and blocks inside each other (compile time)
    max_output_chars: int = 262_144  # written out, and the weight of any one value
    max_allocated: int = 1_048_576  # sum of the weights of everything the render builds
    max_iterations: int = 10_000  # loop turns, macro calls, range lengths
    max_call_depth: int = 32
    max_int_bits: int = 8_192
    max_format_width: int = 1_024
    cpu_seconds: float = 0.005


class RenderBudget:
    """What one render has spent; each check raises TemplateRefused past its limit."""

    __slots__ = (
        "_cpu_mark",
        "_memo",
        "_next_clock_check",
        "_started",
        "allocated",
        "depth",
        "iterations",
        "limits",
        "output",
    )

    def __init__(self, limits: TemplateLimits) -> None:
        self.limits = limits
        self._started = time.perf_counter()
        self._cpu_mark: tuple[float, float] | None = None
        self._next_clock_check = self._started + _FIRST_CPU_CHECK_S
        self.iterations = 0
        self.allocated = 0
        self.output = 0
        self.depth = 0
        # Weights of containers already measured, by id; the value is kept so the id
        # cannot be reused while this render runs.
        self._memo: dict[int, tuple[object, int]] = {}

    # Time -------------------------------------------------------------------------
    def tick(self) -> None:
        """Called by every hook. Reading the thread's CPU clock is a system call (~2 us
        here) and the wall clock is not (~0.1 us), so the CPU clock is read only once
        the wall clock says it could matter: most renders end before it is ever read."""
        now = time.perf_counter()
        if now > self._next_clock_check:
            self._check_cpu(now)

    def _check_cpu(self, now: float) -> None:
        cpu = time.thread_time()
        if self._cpu_mark is None:
            # Before this first reading the render ran for about the first-check interval:
            # hooks come often, and a longer wall time means the thread was waiting.
            self._cpu_mark = (cpu, min(now - self._started, _FIRST_CPU_CHECK_S))
        cpu_at_mark, used_before_mark = self._cpu_mark
        used = used_before_mark + cpu - cpu_at_mark
        if used > self.limits.cpu_seconds:
            raise TemplateRefused(f"took more than {self.limits.cpu_seconds * 1000:g} ms of CPU")
        # Time spent waiting for the CPU (another process ran) is not counted.
        self._next_clock_check = now + self.limits.cpu_seconds - used

    # Counters ---------------------------------------------------------------------
    def turn(self, literal_chars: int) -> None:
        """A loop turn or macro call that writes ``literal_chars`` of template text."""
        self.iterations += 1
        if self.iterations > self.limits.max_iterations:
            raise TemplateRefused(
                f"more than {self.limits.max_iterations} loop turns or macro calls"
            )
        if literal_chars:
            self.emit(literal_chars)
        self.tick()

    def emit(self, chars: int) -> None:
        self.output += chars
        if self.output > self.limits.max_output_chars:
            raise TemplateRefused(f"wrote more than {self.limits.max_output_chars} characters")

    def allocate(self, weight: int, what: str = "a value") -> None:
        """Charge a value about to be built; refuse it if it is too big on its own."""
        if weight > self.limits.max_output_chars:
            raise TemplateRefused(
                f"{what} of about {weight} characters (limit {self.limits.max_output_chars})"
            )
        self.allocated += weight
        if self.allocated > self.limits.max_allocated:
            raise TemplateRefused(
                f"built more than {self.limits.max_allocated} characters of values"
            )

    def check_count(self, count: int, what: str) -> None:
        if count > self.limits.max_iterations:
            raise TemplateRefused(f"a {what} of {count} (limit {self.limits.max_iterations})")

    def check_int_bits(self, bits: int) -> None:
        if bits > self.limits.max_int_bits:
            raise TemplateRefused(
                f"a number of about {bits} bits (limit {self.limits.max_int_bits})"
            )

    def enter_call(self) -> None:
        """One call deeper; the caller takes ``depth`` back down when the call returns."""
        if self.depth >= self.limits.max_call_depth:
            raise TemplateRefused(f"calls nested deeper than {self.limits.max_call_depth}")
        self.depth += 1

    # Sizes ------------------------------------------------------------------------
    def weight(self, value: Any) -> int:
        """About how many characters ``str(value)`` has; stops counting past the limit,
        so measuring never costs more than the limit (shared sub-lists count each time,
        as printing them would)."""
        scalar = _scalar_weight(value)
        if scalar is not None:
            return scalar
        remembered = self._memo.get(id(value))
        if remembered is not None and remembered[0] is value:
            return remembered[1]
        limit = self.limits.max_output_chars
        total = visited = 0
        stack = [value]
        while stack and total <= limit:
            item = stack.pop()
            visited += 1
            if not visited & 1023:
                self.tick()
            scalar = _scalar_weight(item)
            if scalar is not None:
                total += scalar
                continue
            remembered = self._memo.get(id(item))
            if remembered is not None and remembered[0] is item:
                total += remembered[1]
                continue
            children = _children(item)
            if children is None:
                total += _OPAQUE_WEIGHT
            else:
                total += 2 + 2 * len(children)
                stack.extend(children)
        self._memo[id(value)] = (value, total)
        return total

    def check_value(self, value: Any, what: str) -> int:
        weight = self.weight(value)
        if weight > self.limits.max_output_chars:
            raise TemplateRefused(f"{what} of more than {self.limits.max_output_chars} characters")
        return weight

    # Formatting -------------------------------------------------------------------
    def check_width(self, width: object, what: str) -> int:
        if isinstance(width, int) and width > self.limits.max_format_width:
            raise TemplateRefused(f"{what} of {width} (limit {self.limits.max_format_width})")
        return width if isinstance(width, int) else 0

    def check_percent_format(self, fmt: str, args: Any) -> None:
        """``fmt % args``: no ``*`` widths, bounded widths, bounded result."""
        widths = 0
        for match in _PERCENT_SPEC.finditer(fmt):
            for number in match.group(1, 2):
                if number == "*":
                    raise TemplateRefused("'*' widths in % formatting")
                if number:
                    widths += self.check_width(int(number), "a format width")
        self.allocate(len(fmt) + widths + self.weight(args), "a formatted string")

    def check_str_format(self, fmt: str, values: list[Any]) -> None:
        """``fmt.format(...)``: specs without nested fields, bounded widths and result."""
        fields = widths = 0
        for _literal, field, spec, _conversion in _FORMATTER.parse(fmt):
            if field is None:
                continue
            fields += 1
            if spec and "{" in spec:
                raise TemplateRefused("nested fields in a format spec")
            for number in _DIGITS.findall(spec or ""):
                widths += self.check_width(int(number), "a format width")
        largest = max((self.weight(v) for v in values), default=0)
        self.allocate(len(fmt) + widths + fields * largest, "a formatted string")


def _scalar_weight(value: Any) -> int | None:
    if isinstance(value, str | bytes | bytearray):
        return len(value) + 2
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() * 3 // 10 + 2  # decimal digits
    if isinstance(value, float | Undefined):
        return _SCALAR_WEIGHT
    return None


def _children(value: Any) -> list[Any] | tuple[Any, ...] | None:
    if isinstance(value, list | tuple):
        return value
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, set | frozenset):
        return list(value)
    if isinstance(value, Namespace):  # written out with everything set on it
        return list(object.__getattribute__(value, "__dict__").values())
    return None  # a loop, macro or cycler: written out as a short name


_CURRENT: ContextVar[RenderBudget | None] = ContextVar("template_budget", default=None)
_DEFAULT_LIMITS = TemplateLimits()


def current_budget() -> RenderBudget:
    """The budget of the render running now; outside a render (never in normal use) a
    fresh default one, so each operation is still bounded on its own."""
    budget = _CURRENT.get()
    return budget if budget is not None else RenderBudget(_DEFAULT_LIMITS)


@contextmanager
def budget_scope(budget: RenderBudget) -> Iterator[RenderBudget]:
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)
