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


def test_every_personal_column_has_a_holder(tmp_path: Path) -> None:
    """A column that looks like personal data (an email, an address, a name, a link to a
    user) is exported and erased by a registered holder, or excused in NOT_PERSONAL.

    Failing? Register a PersonalDataHolder in your area's setup naming the column (see
    cloud/accounts/personal_data.py and, for an example, cloud/checkout/personal_data.py),
    or add it to NOT_PERSONAL with the reason it says nothing about a person."""
    from cloud.accounts.keys import PERSONAL_DATA
    from cloud.accounts.personal_data import unclaimed_columns
    from cloud.app import create_app
    from cloud.config import CloudSettings
    from cloud.models import metadata

    app = create_app(CloudSettings(data_dir=tmp_path))
    assert unclaimed_columns(metadata, app[PERSONAL_DATA]) == []
