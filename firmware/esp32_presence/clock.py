"""Millisecond ticks that wrap like MicroPython's, on the device and on CPython.

MicroPython's ``time.ticks_ms`` wraps; every duration must go through ``ticks_diff``.
CPython has neither, so the simulator gets equivalents built on ``time.monotonic``.
"""

import time

try:
    ticks_ms = time.ticks_ms
    ticks_diff = time.ticks_diff
    ticks_add = time.ticks_add
    sleep_ms = time.sleep_ms
except AttributeError:

    def ticks_ms() -> int:
        return int(time.monotonic() * 1000)

    def ticks_diff(end: int, start: int) -> int:
        return end - start

    def ticks_add(ticks: int, delta: int) -> int:
        return ticks + delta

    def sleep_ms(ms: int) -> None:
        time.sleep(ms / 1000)
