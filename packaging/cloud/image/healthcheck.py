"""The image's HEALTHCHECK: alive when `ethos cloud serve` answers /healthz with 200.

Installed as /usr/local/bin/ethos-healthcheck. It asks the port and address the serving
process (the container's first process) was started with, so a `--port` other than 8080
is checked where it listens. Standard library only: the base image has no curl.
"""

from __future__ import annotations

import itertools
import sys
import urllib.request
from pathlib import Path

DEFAULT_PORT = "8080"
HEALTHZ_PATH = "/healthz"
TIMEOUT_SECONDS = 2.0
ALL_ADDRESSES = ("0.0.0.0", "::", "")  # noqa: S104 (compared, not bound)


def serve_address(arguments: list[str]) -> tuple[str, str]:
    """The (host, port) a `cloud serve` command line listens on, as a client reaches it."""
    host, port = "127.0.0.1", DEFAULT_PORT
    for flag, value in itertools.pairwise(arguments):
        if flag == "--port":
            port = value
        elif flag == "--host":
            host = "127.0.0.1" if value in ALL_ADDRESSES else value
    return (f"[{host}]" if ":" in host else host), port


def main() -> int:
    raw = Path("/proc/1/cmdline").read_bytes()
    host, port = serve_address([part.decode() for part in raw.split(b"\0") if part])
    url = f"http://{host}:{port}{HEALTHZ_PATH}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:
            return 0 if answer.status == 200 else 1
    except OSError as err:
        print(f"{url}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
