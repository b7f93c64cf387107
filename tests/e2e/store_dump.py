"""The store's whole database as text (``pg_dump --data-only`` of the test's schema), and
its rows by table, for checks of what the store holds and what it must never hold."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import DatabaseTarget

_COPY = re.compile(r'^COPY (?:"?\w+"?\.)?"?(\w+)"? \(([^)]*)\) FROM stdin;$')
_END_OF_COPY = "\\."


def dump_store_data(database: DatabaseTarget) -> str:
    """Every row of every table of the store (its schema only on the e2e tier's server)."""
    dsn = database.url.replace("postgresql+asyncpg://", "postgresql://", 1)
    args = ["pg_dump", "--data-only", "--no-owner", "--dbname", dsn]
    if database.schema:
        args.append(f"--schema={database.schema}")
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def table_rows(dump: str) -> dict[str, list[dict[str, str]]]:
    """The dump's COPY blocks: table name → rows as {column: text as dumped}."""
    tables: dict[str, list[dict[str, str]]] = {}
    columns: list[str] | None = None
    rows: list[dict[str, str]] = []
    for line in dump.splitlines():
        if columns is None:
            match = _COPY.match(line)
            if match:
                columns = [c.strip().strip('"') for c in match.group(2).split(",")]
                rows = tables.setdefault(match.group(1), [])
            continue
        if line == _END_OF_COPY:
            columns = None
            continue
        rows.append(dict(zip(columns, line.split("\t"), strict=True)))
    return tables
