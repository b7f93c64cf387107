"""The bounded sandbox on its own: what a template may ask for, and what it may not."""

from __future__ import annotations

import tracemalloc

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hub.helpers.template import (
    TemplateCompiler,
    TemplateLimits,
    TemplateRefused,
    TemplateRenderError,
)

VARIABLES = {
    "value": "21.5,ok",
    "value_json": {"t": 21.46, "on": True, "list": [3, 1, 2], "name": "a-b", "n": {"x": 1}},
}
NORMAL = [
    "{{ value_json.t | round(1) }}",
    "{{ 'ON' if value_json.on else 'OFF' }}",
    "{{ value.split(',')[0] | float * 2 }}",
    "{{ value_json.list | sort | join(', ') }}",
    "{% for i in value_json.list if i > 1 %}{{ loop.index }}={{ i }};{% endfor %}",
    "{{ '%05.1f|%s' | format(value_json.t, value_json.name) }}",
    "{{ '{:>6}|{}'.format(value_json.t, value_json.name.upper()) }}",
    "{{ value_json.n | tojson }} {{ value_json.list | list | string }}",
    "{% set ns = namespace(total=0) %}{% for i in range(5) %}{% set ns.total = ns.total + i %}"
    "{% endfor %}{{ ns.total }}",
    "{% macro f(v, d=1) %}{{ (v * 9 / 5 + 32) | round(d) }}{% endmacro %}{{ f(value_json.t) }}",
    "{{ {'a': 1, 'b': value_json.t}.b ~ '/' ~ [value, 2][0] ~ (1, value_json.n)[1].x }}",
    "{{ value_json.name | replace('-', '+') | center(9) | trim | indent(2) | wordwrap(3) }}",
    "{{ (value_json.list * 2) | batch(4, 0) | list }} {{ 2 ** 10 }} {{ '%s' % value }}",
]
HOSTILE = {
    "repeat a string": "{{ 'x' * 300000000 }}",
    "a huge power": "{{ 9 ** (9 ** 9) }}",
    "squaring in a loop": "{% set ns = namespace(x=3) %}{% for i in range(40) %}"
    "{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x > 0 }}",
    "nested ranges": "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}"
    "{% endfor %}",
    "a long range": "{{ range(300000000) | list | length }}",
    "'*' width": "{{ '%*d' % (300000000, 1) }}",
    "% width": "{{ '%300000000d' % 1 }}",
    "format filter width": "{{ '%300000000s' | format('x') }}",
    "str.format width": "{{ '{:>300000000}'.format('x') }}",
    "str.format nested width": "{{ '{:>{}}'.format('x', 300000000) }}",
    "str.format repeating a field": "{{ ('{0}' * 1000).format('y' * 10000) }}",
    "join with a long separator": "{{ range(10000) | join('x' * 100000) }}",
    "center": "{{ 'x' | center(300000000) }}",
    "indent": "{{ ('a\\n' * 1000) | indent(100000) }}",
    "replace": "{{ ('x' * 100000) | replace('x', 'y' * 1000) }}",
    "replace the empty string": "{{ ('abc' * 1000) | replace('', 'y' * 2000) }}",
    "ljust": "{{ 'x'.ljust(300000000) }}",
    "zfill": "{{ '1'.zfill(300000000) }}",
    "expandtabs": "{{ ('\\t' * 100000).expandtabs(100000) }}",
    "to_bytes": "{{ (1).to_bytes(300000000, 'big') | length }}",
    "~ doubling": "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
    "+ doubling": "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
    "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}",
    "list repeat": "{{ ([1] * 300000000) | length }}",
    "shared lists written out": "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}"
    "{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}",
    "shared lists compared": "{% set ns = namespace(a=[1], b=[1]) %}{% for i in range(60) %}"
    "{% set ns.a = [ns.a, ns.a] %}{% set ns.b = [ns.b, ns.b] %}{% endfor %}{{ ns.a == ns.b }}",
    "macro recursion": "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}",
    "macro fan-out": "{% macro m(n) %}{% if n %}{{ m(n-1) }}{{ m(n-1) }}{% endif %}"
    "{% endmacro %}{{ m(30) | length }}",
    "recursive loop": "{% for x in [1, [1, [1]]] recursive %}{{ loop([x, x, x]) }}{% endfor %}",
    "output in a loop": "{% for i in range(10000) %}{{ 'x' * 200000 }}{% endfor %}",
    "text in a loop": "{% for i in range(10000) %}" + "y" * 900 + "{% endfor %}",
    "batch filling": "{{ [1] | batch(300000000, 'x') | list | length }}",
    "slices": "{{ [1] | slice(100000000) | list | length }}",
    "round to huge precision": "{{ 1 | round(-300000000, 'floor') }}",
    "sum of lists": "{{ [[1] * 1000] * 1000 | sum(start=[]) | length }}",
    "tojson indent": "{{ [[[[1]]]] | tojson(indent=100000) }}",
    "a big dict": "{{ dict(a='x' * 300000000) }}",
    "splitting into many": "{{ (',' * 200000).split(',') | length }}",
    "translate": "{{ value.translate({120: 'y' * 100000}) }}",
    "dict.fromkeys": "{{ {}.fromkeys(range(10000)) | length }}",
    "a loop test doing work": "{% for a in range(10000) if (range(10000) | join(',')) %}"
    "{% endfor %}",
}


@pytest.fixture(scope="module")
def compiler() -> TemplateCompiler:
    return TemplateCompiler(TemplateLimits(max_source_chars=1024))


@pytest.mark.parametrize("source", NORMAL)
def test_normal_templates_render_as_jinja_renders_them(
    compiler: TemplateCompiler, source: str
) -> None:
    expected = ImmutableSandboxedEnvironment().from_string(source).render(VARIABLES)
    assert compiler.compile(source).render(VARIABLES) == expected


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_templates_are_refused_within_a_megabyte(
    compiler: TemplateCompiler, name: str
) -> None:
    template = compiler.compile(HOSTILE[name])
    tracemalloc.start()
    try:
        with pytest.raises(TemplateRefused):
            template.render(VARIABLES)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024


def test_a_template_whose_cost_needs_no_input_is_refused_by_its_dry_run(
    compiler: TemplateCompiler,
) -> None:
    assert "repeated value" in (compiler.compile("{{ 'x' * 300000000 }}").dry_run() or "")
    assert compiler.compile("{{ value * 3 }}").dry_run() is None  # needs its input


def test_input_errors_are_not_refusals(compiler: TemplateCompiler) -> None:
    with pytest.raises(TemplateRenderError) as caught:
        compiler.compile("{{ value_json.missing.deeper }}").render(VARIABLES)
    assert not isinstance(caught.value, TemplateRefused)


def test_sources_too_long_or_too_deep_are_refused_before_compiling(
    compiler: TemplateCompiler,
) -> None:
    with pytest.raises(ValueError, match="at most 1024"):
        compiler.compile("{{ value }}" * 100)
    with pytest.raises(ValueError, match="nested more than"):
        compiler.compile("{{ value" + "|abs" * 100 + " }}")


def test_the_compiled_template_cache_is_bounded_in_bytes() -> None:
    compiler = TemplateCompiler(cache_bytes=64 * 1024)
    for n in range(200):
        compiler.compile(f"{{{{ value_json.k{n} | round({n % 5}) }}}}")
    with pytest.raises(ValueError, match="broken template"):
        compiler.compile("{{ broken")
    assert 0 < compiler.cache_bytes <= compiler.cache_limit
    assert len(compiler) < 200


def test_functions_given_to_the_compiler_are_called_under_the_same_limits() -> None:
    compiler = TemplateCompiler(functions={"twice": lambda text: text * 2})
    assert compiler.compile("{{ twice('ab') }}").render({}) == "abab"
    with pytest.raises(TemplateRefused):
        compiler.compile("{{ twice('x' * 200000) }}").render({})
