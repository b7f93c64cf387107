"""Searching the store's log for a value that must not be there finds it in what the store
logged, not in the numbers every log line carries."""

from __future__ import annotations

import re

from tests.e2e.store_dump import log_without_own_numbers

_VALUE = re.compile(r"(?<![\w.])137(?![\w.])")  # as the story searches for its hold time


def test_a_lines_time_and_an_access_lines_status_and_size_are_not_searched() -> None:
    # The story failed on the first line: its milliseconds were the hold time it looks for.
    log = (
        "2026-12-07 04:39:11,137 INFO aiohttp.access: 127.0.0.1 [07/Dec/2026:04:39:11 +0000] "
        '"GET /oauth/jwks HTTP/1.1" 200 1106 "-" "Python/3.11 aiohttp/3.14.5"\n'
        "2026-12-07 04:39:12,500 INFO aiohttp.access: 127.0.0.1 [07/Dec/2026:04:39:12 +0000] "
        '"GET /healthz HTTP/1.1" 200 137 "-" "curl/8"\n'
    )
    assert _VALUE.search(log)
    assert not _VALUE.search(log_without_own_numbers(log))


def test_the_value_in_what_the_store_logged_is_still_found() -> None:
    log = (
        "2026-12-07 04:39:11,020 INFO cloud.remote: hold time 137 s\n"
        "2026-12-07 04:39:12,500 INFO aiohttp.access: 127.0.0.1 [07/Dec/2026:04:39:12 +0000] "
        '"GET /x?hold=137 HTTP/1.1" 200 88 "-" "curl/8"\n'
    )
    kept = log_without_own_numbers(log)
    assert "hold time 137 s" in kept and "hold=137" in kept
    assert len(_VALUE.findall(kept)) == 2
