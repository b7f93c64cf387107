"""Templates from untrusted sources (device discovery, later automations), bounded in cost.

``TemplateCompiler(limits).compile(source)`` gives a :class:`BoundedTemplate`; its
``render(variables)`` returns the text, or raises :class:`TemplateRenderError` (this
input did not work: an undefined value, a wrong type) or its subclass
:class:`TemplateRefused` (a limit was hit: time, loop turns, memory, output, depth).
Compiled templates are kept in an LRU cache bounded in bytes, broken sources included,
so the same junk is not compiled twice. The sandbox (and Jinja's) is built on the first
compile: devices that send plain values never need it.
"""

from __future__ import annotations

import gc
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hub.helpers.template_budget import (
    RenderBudget,
    TemplateLimits,
    TemplateRefused,
    TemplateRenderError,
    budget_scope,
)

if TYPE_CHECKING:
    from jinja2 import Template

    from hub.helpers.template_sandbox import BoundedSandbox

__all__ = [
    "BoundedTemplate",
    "TemplateCompiler",
    "TemplateLimits",
    "TemplateRefused",
    "TemplateRenderError",
]

DEFAULT_CACHE_BYTES = 4 * 1024 * 1024
# Measured: a compiled template holds about three times its generated Python source
# in code objects, plus a fixed part for its module and functions.
_CODE_BYTES_PER_CHAR = 3
_ENTRY_BYTES = 4096
_NOT_TRIED = object()


class BoundedTemplate:
    """One compiled template; rendering it never costs more than its limits."""

    __slots__ = ("_dry_run", "_limits", "_template", "source")

    def __init__(self, source: str, template: Template, limits: TemplateLimits) -> None:
        self.source = source
        self._template = template
        self._limits = limits
        self._dry_run: object = _NOT_TRIED

    def render(self, variables: Mapping[str, Any]) -> str:
        budget = RenderBudget(self._limits)
        # A collection of the hub's other objects must not count against this render.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with budget_scope(budget):
                context = self._template.new_context(dict(variables))
                return "".join(self._template.root_render_func(context))
        except TemplateRefused:
            raise
        except RecursionError as err:
            raise TemplateRefused("nested too deeply") from err
        except MemoryError as err:
            raise TemplateRefused("ran out of memory") from err
        except Exception as err:  # untrusted code: any failure is this input's failure
            raise TemplateRenderError(str(err) or type(err).__name__) from err
        finally:
            if collecting:
                gc.enable()

    def dry_run(self) -> str | None:
        """Why the template is refused with no input at all, or None (asked once: a
        template whose cost does not depend on its input is refused before any message)."""
        if self._dry_run is _NOT_TRIED:
            try:
                self.render({})
            except TemplateRefused as err:
                self._dry_run = str(err)
            except TemplateRenderError:
                self._dry_run = None
            else:
                self._dry_run = None
        return self._dry_run  # type: ignore[return-value]


class TemplateCompiler:
    """Compiles sources in the bounded sandbox and caches them, up to ``cache_bytes``."""

    def __init__(
        self,
        limits: TemplateLimits | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        functions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        """``functions``: extra globals for the templates (``states()`` for automations);
        calls to them go through the sandbox like any other call."""
        self.limits = limits or TemplateLimits()
        self.cache_limit = cache_bytes
        self.cache_bytes = 0
        self._functions = dict(functions or {})
        self._env: BoundedSandbox | None = None
        self._cache: OrderedDict[str, tuple[BoundedTemplate | str, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._cache)

    def compile(self, source: str) -> BoundedTemplate:
        """The compiled template; ValueError saying why for a source too long or broken."""
        if not isinstance(source, str) or len(source) > self.limits.max_source_chars:
            raise ValueError(
                f"a template must be a string of at most {self.limits.max_source_chars} characters"
            )
        cached = self._cache.get(source)
        if cached is not None:
            self._cache.move_to_end(source)
            result = cached[0]
        else:
            result, size = self._compile(source)
            self._remember(source, result, size)
        if isinstance(result, str):
            raise ValueError(result)
        return result

    def _sandbox(self) -> BoundedSandbox:
        if self._env is None:
            from hub.helpers.template_sandbox import BoundedSandbox

            self._env = BoundedSandbox()
            self._env.globals.update(self._functions)
        return self._env

    def _compile(self, source: str) -> tuple[BoundedTemplate | str, int]:
        from hub.helpers.template_sandbox import check_nesting, instrument

        env = self._sandbox()
        try:
            tree = env.parse(source)
            check_nesting(tree, self.limits.max_nesting)
            python = env.compile(instrument(tree), raw=True)
            code = compile(python, "<template>", "exec")
            template = env.template_class.from_code(env, code, env.make_globals(None))
        except Exception as err:  # syntax errors, nesting too deep for Python...
            message = f"broken template: {err}"
            return message, _ENTRY_BYTES + len(source) + len(message)
        size = _ENTRY_BYTES + len(source) + _CODE_BYTES_PER_CHAR * len(python)
        return BoundedTemplate(source, template, self.limits), size

    def _remember(self, source: str, result: BoundedTemplate | str, size: int) -> None:
        if size > self.cache_limit:
            return
        self._cache[source] = (result, size)
        self.cache_bytes += size
        while self.cache_bytes > self.cache_limit:
            _source, (_result, evicted) = self._cache.popitem(last=False)
            self.cache_bytes -= evicted
