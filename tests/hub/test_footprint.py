"""The hub stays light: no ORM, no pydantic anywhere in ``hub/`` (the store keeps SQLModel;
the Raspberry Pi's hub keeps JSON documents and the standard library's sqlite3)."""

from __future__ import annotations

import ast
from pathlib import Path

HUB = Path(__file__).resolve().parents[2] / "hub"
NOT_IN_THE_HUB = frozenset({"sqlmodel", "sqlalchemy", "aiosqlite", "pydantic", "pydantic_core"})


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_the_hub_imports_no_orm_and_no_pydantic() -> None:
    found = {
        str(path.relative_to(HUB)): sorted(_imported(path) & NOT_IN_THE_HUB)
        for path in sorted(HUB.rglob("*.py"))
    }
    assert {path: names for path, names in found.items() if names} == {}
