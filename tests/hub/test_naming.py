"""The hub's naming rule, checked over every module of hub/: a function whose name starts
with ``async_`` is a coroutine, or is marked ``@callback`` (runs in the loop, never blocks).
The marker itself is checked through its public functions."""

from __future__ import annotations

import ast
from pathlib import Path

from hub.core.callback import callback, is_callback

HUB = Path(__file__).resolve().parents[2] / "hub"


def _marked(node: ast.FunctionDef) -> bool:
    return any(
        (isinstance(d, ast.Name) and d.id == "callback")
        or (isinstance(d, ast.Attribute) and d.attr == "callback")
        for d in node.decorator_list
    )


def misnamed_functions(root: Path) -> list[str]:
    """``path:line name`` of every plain ``async_…`` function without ``@callback``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.FunctionDef)
                and node.name.startswith("async_")
                and not _marked(node)
            ):
                found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name}")
    return found


def test_every_async_name_is_a_coroutine_or_a_callback() -> None:
    assert misnamed_functions(HUB) == []


def test_the_walk_finds_an_unmarked_plain_async_function(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "mod.py").write_text(
        "from hub.core.callback import callback\n"
        "def async_plain():\n    pass\n"
        "@callback\ndef async_marked():\n    pass\n"
        "async def async_coroutine():\n    pass\n",
        encoding="utf-8",
    )
    assert misnamed_functions(package) == ["pkg/mod.py:2 async_plain"]


def test_the_marker_keeps_the_function_and_says_so() -> None:
    def async_double(value: int) -> int:
        return value * 2

    marked = callback(async_double)
    assert marked is async_double
    assert marked(4) == 8
    assert is_callback(marked)
    assert not is_callback(lambda: None)
