"""PIR input with debounce: a level must hold for ``settle_ms`` before it counts.

Pure logic; the caller reads the pin (``machine.Pin.value()`` on the device) and passes the
level with the current ticks.
"""

import clock
from presence_const import DEFAULT_PIR_DEBOUNCE_MS


class DebouncedInput:
    def __init__(self, settle_ms: int = DEFAULT_PIR_DEBOUNCE_MS, initial: bool = False) -> None:
        self.settle_ms = settle_ms
        self.state = bool(initial)
        self._candidate = self.state
        self._since = None

    def update(self, level: int | bool, now_ms: int) -> bool:
        """Feed one reading; return True when the stable state changed."""
        level = bool(level)
        if level == self.state:
            self._candidate = level
            self._since = None
            return False
        if level != self._candidate or self._since is None:
            self._candidate = level
            self._since = now_ms
        if clock.ticks_diff(now_ms, self._since) >= self.settle_ms:
            self.state = level
            self._since = None
            return True
        return False
