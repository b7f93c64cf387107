"""Conventions of the store's code that a reader relies on, checked."""

from __future__ import annotations

import ast
from pathlib import Path

import cloud

CLOUD = Path(cloud.__file__).parent


def test_async_prefix_only_names_coroutines() -> None:
    misnamed = []
    for path in sorted(CLOUD.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("async_"):
                misnamed.append(f"{path.relative_to(CLOUD)}:{node.lineno} {node.name}")
    assert misnamed == []
