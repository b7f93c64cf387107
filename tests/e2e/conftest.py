"""The whole product as separate processes, for the browser story (e2e tier only)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DatabaseTarget
from tests.support import processes
from tests.support.smtp_sink import MailCatcher


@dataclass
class RunningStore:
    url: str
    mail: MailCatcher


@pytest.fixture
def store_process(
    database: DatabaseTarget, smtp_server: MailCatcher, tmp_path: Path
) -> Iterator[RunningStore]:
    """`ethos cloud serve` as its own process, on the tier's database and SMTP server."""
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "ETHOS_DATA_DIR": str(tmp_path / "cloud"),
        "ETHOS_BASE_URL": url,
        "DATABASE_URL": database.url,
        "SMTP_URL": smtp_server.url,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }
    if database.schema:
        env["ETHOS_DB_SCHEMA"] = database.schema
    proc = processes.start_python(
        ["-m", "ethos", "cloud", "serve", "--port", str(port)], env=env
    )
    try:
        processes.wait_for_port("127.0.0.1", port, proc, timeout=60)
        yield RunningStore(url=url, mail=smtp_server)
    finally:
        processes.stop(proc)
