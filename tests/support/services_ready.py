"""Exit 0 when the e2e tier's real services answer, else say which one is missing."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

from tests.support.processes import port_open


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def main() -> int:
    database = os.environ.get("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    mqtt = os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")
    missing = []
    if not port_open(*_host_port(database, 5432), timeout=2):
        missing.append(f"PostgreSQL at {database}")
    if not port_open(*_host_port(mqtt, 1883), timeout=2):
        missing.append(f"MQTT broker at {mqtt}")
    for item in missing:
        print(f"not reachable: {item}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
