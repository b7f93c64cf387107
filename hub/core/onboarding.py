"""The first-run set-up of a new hub, kept in the ``core.onboarding`` JSON document so it
can be left at any step and resumed: name the hub and say where it is, link it to the
owner's store account, pick rooms, then put the devices found so far in them."""

from __future__ import annotations

import logging
from collections.abc import Callable

from hub.core.errors import ServiceValidationError
from hub.core.storage import DocumentStore

_LOGGER = logging.getLogger(__name__)
STORAGE_KEY = "core.onboarding"
STORAGE_VERSION = 1
STEP_HUB, STEP_LINK, STEP_ROOMS, STEP_DEVICES = "hub", "link", "rooms", "devices"
STEPS = (STEP_HUB, STEP_LINK, STEP_ROOMS, STEP_DEVICES)
STEP_TITLES = {
    STEP_HUB: "Name and place",
    STEP_LINK: "Store account",
    STEP_ROOMS: "Rooms",
    STEP_DEVICES: "Devices",
}


class Onboarding:
    """Which steps are done; ``linked`` tells whether the link step is done (it is the
    store link itself, not a note of ours)."""

    def __init__(self, storage: DocumentStore, linked: Callable[[], bool]) -> None:
        self._document = storage.document(STORAGE_KEY, STORAGE_VERSION)
        self._linked = linked
        self._done: list[str] = []

    async def async_load(self) -> None:
        data = await self._document.async_load() or {}
        self._done = [s for s in data.get("done", []) if s in STEPS]

    def is_done(self, step: str) -> bool:
        if step == STEP_LINK:
            return self._linked()
        return step in self._done

    @property
    def next_step(self) -> str | None:
        """The first step not done yet; None once set-up is finished."""
        return next((s for s in STEPS if not self.is_done(s)), None)

    @property
    def finished(self) -> bool:
        return self.next_step is None

    def progress(self) -> list[tuple[str, str, bool]]:
        """(step, title, done) for each step, in order."""
        return [(s, STEP_TITLES[s], self.is_done(s)) for s in STEPS]

    async def async_complete(self, step: str) -> None:
        if step not in STEPS or step == STEP_LINK:
            raise ServiceValidationError(f"no set-up step {step!r}")
        if step not in self._done:
            self._done.append(step)
            await self._document.async_save(lambda: {"done": list(self._done)})
            _LOGGER.info("Set-up step %s done", step)
