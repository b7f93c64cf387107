"""What a discovery template costs: the bounded sandbox against Jinja's plain sandbox.

1. Overhead on normal templates: the same templates and variables rendered by
   `ImmutableSandboxedEnvironment` as on 8c4f5c3 (`from_string(...).render(...)`) and by
   the bounded sandbox (`TemplateCompiler.compile(...).render(...)`), rounds alternating,
   median microseconds per render and the ratio (bounded / plain).
2. Hostile messages before/after: each hostile template handled as one discovery message
   (compile, and for the bounded sandbox its dry run) plus one state message (render),
   in a fresh process, "before" with the plain sandbox (as on 8c4f5c3: its ValueTemplate
   did exactly this), "after" with the MQTT integration's ValueTemplate. CPU is the
   process's CPU time around the two messages (a run without tracemalloc); memory is the
   tracemalloc peak of the same work (a second run). "Before" runs are stopped at
   --cpu-limit seconds of CPU and 2 GiB of address space.

    .venv/bin/python -m benchmarks.hub_template_cost [--rounds 5] [--cpu-limit 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

NORMAL = {
    "round": "{{ value_json.ENERGY.Temperature | round(1) }}",
    "if/else": "{{ 'ON' if value_json.occupied else 'OFF' }}",
    "join": "{{ value_json.list | join(',') }}",
    "for loop": "{% for i in value_json.list %}{{ loop.index }}:{{ i }} {% endfor %}",
    "format": "{{ '%.2f' | format(value_json.ENERGY.Temperature * 2) }}",
    "methods": "{{ value_json.name.split('-')[1].upper() ~ '!' }}",
    "macro": "{% macro c(v) %}{{ (v * 9 / 5 + 32) | round(1) }}{% endmacro %}"
    "{{ c(value_json.ENERGY.Temperature) }}",
    "literal": "{{ [value_json.list | length, value_json.list | max] | join('/') }}",
}
PAYLOAD = json.dumps(
    {"ENERGY": {"Temperature": 21.46}, "occupied": True, "list": [3, 1, 2], "name": "a-b"}
)

# name: (value_template, state payload)
HOSTILE = {
    "'x' * 300000000": ("{{ 'x' * 300000000 }}", "1"),
    "9 ** (9 ** 9)": ("{{ 9 ** (9 ** 9) }}", "1"),
    "nested range(value)": (
        "{% for a in range(value|int) %}{% for b in range(value|int) %}{% endfor %}{% endfor %}",
        "30000",
    ),
    "'%*d' width": ("{{ '%*d' % (300000000, 1) }}", "1"),
    "|format width": ("{{ '%300000000s' | format('x') }}", "1"),
    "str.format width": ("{{ '{:>300000000}'.format('x') }}", "1"),
    "join, long separator": ("{{ range(10000) | join('x' * 100000) }}", "1"),
    "center": ("{{ 'x' | center(300000000) }}", "1"),
    "indent": ("{{ ('a\\n' * 1000) | indent(100000) }}", "1"),
    "replace": ("{{ ('x' * 100000) | replace('x', 'y' * 1000) }}", "1"),
    "ljust": ("{{ 'x'.ljust(300000000) }}", "1"),
    "~ doubling in a loop": (
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s | length }}",
        "1",
    ),
    "list * n": ("{{ ([1] * 300000000) | length }}", "1"),
    "shared lists | tojson": (
        "{% set a = [1,2,3] %}{% set b = [a,a,a,a] %}{% set c = [b,b,b,b] %}"
        "{% set d = [c,c,c,c] %}{% set e = [d,d,d,d] %}{% set f = [e,e,e,e] %}"
        "{% set g = [f,f,f,f] %}{% set h = [g,g,g,g] %}{% set i = [h,h,h,h] %}"
        "{% set j = [i,i,i,i] %}{% set k = [j,j,j,j] %}{{ k | tojson | length }}",
        "1",
    ),
    "macro fan-out": (
        "{% macro m(n) %}{% if n %}{{ m(n-1) }}{{ m(n-1) }}{% endif %}{% endmacro %}"
        "{{ m(value|int) | length }}",
        "40",
    ),
    "output in a loop": ("{% for i in range(100000) %}{{ value * 1000 }}{% endfor %}", "xxxxx"),
    "range | list": ("{{ range(100000) | list | join(',') | length }}", "1"),
    "batch fill": ("{{ [1] | batch(300000000, 'x') | list | length }}", "1"),
    "round huge precision": ("{{ 1 | round(-300000000, 'floor') }}", "1"),
    "sum of lists": ("{{ ([[1] * 1000] * 3000) | sum(start=[]) | length }}", "1"),
    "to_bytes": ("{{ (1).to_bytes(300000000, 'big') | length }}", "1"),
    "value.b.b... (compile)": ("{{ value" + ".b" * 150 + " }}", "1"),
    "value|abs|abs... (compile)": ("{{ value" + "|abs" * 150 + " }}", "1"),
}

CHILD = r"""
import json, resource, sys, time, tracemalloc
from benchmarks.hub_template_cost import HOSTILE
name, variant, mode, cpu_limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
source, payload = HOSTILE[name]
if variant == "before":
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit, cpu_limit + 1))
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    env = ImmutableSandboxedEnvironment(autoescape=False)
    def discovery():
        return env.from_string(source)
    def state(template):
        return template.render({"value": payload}).strip()
else:
    from hub.integrations.mqtt.template import ValueTemplate, new_template_compiler
    compiler = new_template_compiler()
    def discovery():
        return ValueTemplate(source, compiler)
    def state(template):
        return template.render(payload)
if mode == "memory":
    tracemalloc.start()
outcome = "rendered"
started = time.process_time()
try:
    state(discovery())
except MemoryError:
    outcome = "MemoryError"
except Exception as err:
    outcome = "refused" if type(err).__name__ == "TemplateRefused" else type(err).__name__
cpu = time.process_time() - started
peak = tracemalloc.get_traced_memory()[1] if mode == "memory" else 0
print(json.dumps({"cpu_ms": cpu * 1000, "peak_kib": peak / 1024, "outcome": outcome}))
"""


def run_child(name: str, variant: str, mode: str, cpu_limit: int) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, name, variant, mode, str(cpu_limit)],
        capture_output=True,
        text=True,
        timeout=cpu_limit * 4 + 30,
    )
    if proc.returncode != 0 or not proc.stdout.strip():  # SIGXCPU at the CPU limit
        return {"cpu_ms": cpu_limit * 1000.0, "peak_kib": None, "outcome": "stopped"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def overhead(rounds: int) -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from hub.integrations.mqtt.template import new_template_compiler

    plain_env = ImmutableSandboxedEnvironment(autoescape=False)
    compiler = new_template_compiler()
    variables = {"value": PAYLOAD, "value_json": json.loads(PAYLOAD)}
    plain = {name: plain_env.from_string(src) for name, src in NORMAL.items()}
    bounded = {name: compiler.compile(src) for name, src in NORMAL.items()}
    for name in NORMAL:
        assert plain[name].render(variables) == bounded[name].render(variables), name
    samples: dict[str, dict[str, list[float]]] = {n: {"plain": [], "bounded": []} for n in NORMAL}
    count = 2000
    for _ in range(rounds):
        for name in NORMAL:
            for label, template in (("plain", plain[name]), ("bounded", bounded[name])):
                started = time.perf_counter()
                for _ in range(count):
                    template.render(variables)
                samples[name][label].append((time.perf_counter() - started) / count * 1e6)
    print(f"1. Render of a normal template, median of {rounds} rounds x {count} renders (us)")
    print(f"   {'template':12} {'plain':>8} {'bounded':>8} {'ratio':>6}")
    ratios = []
    for name in NORMAL:
        p, b = (statistics.median(samples[name][k]) for k in ("plain", "bounded"))
        ratios.append(b / p)
        print(f"   {name:12} {p:8.1f} {b:8.1f} {b / p:6.2f}")
    print(f"   median ratio bounded / plain: {statistics.median(ratios):.2f}")

    compile_plain, compile_bounded = [], []
    for n in range(rounds * 20):
        for src in NORMAL.values():
            unique = src + "{# " + str(n) + " #}"
            started = time.perf_counter()
            plain_env.from_string(unique)
            compile_plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            compiler.compile(unique)
            compile_bounded.append(time.perf_counter() - started)
    p, b = statistics.median(compile_plain) * 1e3, statistics.median(compile_bounded) * 1e3
    print(f"   compile (median over the templates): plain {p:.2f} ms, bounded {b:.2f} ms\n")


def hostile(cpu_limit: int) -> None:
    print("2. One hostile discovery message + one state message, before (plain sandbox,")
    print(f"   stopped at {cpu_limit} s CPU / 2 GiB) and after (bounded); CPU ms, peak MiB")
    print(f"   {'template':24} {'before':>26}   {'after':>26}")
    worst_cpu = worst_peak = 0.0
    for name in HOSTILE:
        cells = []
        for variant in ("before", "after"):
            timing = run_child(name, variant, "cpu", cpu_limit)
            memory = (
                run_child(name, variant, "memory", cpu_limit)
                if timing["outcome"] != "stopped"
                else {"peak_kib": None}
            )
            peak = memory["peak_kib"]
            peak_text = "   n/a" if peak is None else f"{peak / 1024:6.1f}"
            cpu_text = (
                f"{'>' + str(cpu_limit * 1000):>8}"
                if timing["outcome"] == "stopped"
                else f"{timing['cpu_ms']:8.1f}"
            )
            cells.append(f"{cpu_text} {peak_text} {timing['outcome']:>10}")
            if variant == "after":
                worst_cpu = max(worst_cpu, timing["cpu_ms"])
                worst_peak = max(worst_peak, (peak or 0) / 1024)
        print(f"   {name:24} {cells[0]}   {cells[1]}")
    print(f"   after, worst: {worst_cpu:.1f} ms CPU, {worst_peak:.2f} MiB (goal <= 10 ms, <= 1 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cpu-limit", type=int, default=15)
    args = parser.parse_args()
    overhead(args.rounds)
    hostile(args.cpu_limit)


if __name__ == "__main__":
    main()
