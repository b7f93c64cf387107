"""The store's whole database as text (``pg_dump --data-only`` of the test's schema), its
rows by table, and its log without the numbers it writes of itself: for checks of what the
store holds and what it must never hold."""

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


# Numbers the store's log writes of itself: each line's time (its milliseconds could be the
# hold time: ",137") and an access line's status and size.
_LOG_LINE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.MULTILINE)
_ACCESS_STATUS_AND_SIZE = re.compile(r'(HTTP/[\d.]+") \d{3} (?:\d+|-) ')


def log_without_own_numbers(log: str) -> str:
    """The store's log without the numbers it writes of itself, for searching it for a
    value that must not be there."""
    return _ACCESS_STATUS_AND_SIZE.sub(r"\1 ", _LOG_LINE_TIME.sub("", log))
