"""The hub's own settings as its owner gives them in the set-up flow: its name, where it is
(for `sun` triggers) and its time zone, kept in the ``core.config`` JSON document. A value
never given falls back to the environment (``ETHOS_HUB_NAME``, ``ETHOS_HUB_LATITUDE``,
``ETHOS_HUB_LONGITUDE``, ``ETHOS_HUB_TIME_ZONE``) as read into ``HubConfig``."""

from __future__ import annotations

import logging
from typing import Any

from hub.const import EVENT_CORE_CONFIG_UPDATED
from hub.core.config import HubConfig
from hub.core.errors import ServiceValidationError
from hub.core.events import EventBus
from hub.core.storage import DocumentStore

_LOGGER = logging.getLogger(__name__)
STORAGE_KEY = "core.config"
STORAGE_VERSION = 1
NAME_MAX = 60
_FIELDS = ("name", "latitude", "longitude", "time_zone")


def _coordinate(value: object, label: str, bound: float) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        raise ServiceValidationError(f"{label} is a number of degrees, like 48.85") from None
    if not -bound <= number <= bound:
        raise ServiceValidationError(f"{label} is between -{bound:g} and {bound:g} degrees")
    return number


def _time_zone(value: object) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    from zoneinfo import ZoneInfo  # on a change of place: sysconfig and tzdata stay unloaded

    try:
        ZoneInfo(text)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        raise ServiceValidationError(
            f"{text[:60]!r} is not a time zone; use a name like Europe/Paris"
        ) from None
    return text


def clean_settings(form: dict[str, Any]) -> dict[str, Any]:
    """The owner's values, checked; ServiceValidationError says what is wrong."""
    name = " ".join(str(form.get("name") or "").split())
    if len(name) > NAME_MAX:
        raise ServiceValidationError(f"the hub's name has at most {NAME_MAX} characters")
    latitude = _coordinate(form.get("latitude"), "latitude", 90.0)
    longitude = _coordinate(form.get("longitude"), "longitude", 180.0)
    if (latitude is None) != (longitude is None):
        raise ServiceValidationError("give both latitude and longitude, or neither")
    return {
        "name": name or None,
        "latitude": latitude,
        "longitude": longitude,
        "time_zone": _time_zone(form.get("time_zone")),
    }


class CoreConfig:
    """Stored values first, the environment's as defaults."""

    def __init__(self, config: HubConfig, storage: DocumentStore, bus: EventBus) -> None:
        self._config = config
        self._bus = bus
        self._document = storage.document(STORAGE_KEY, STORAGE_VERSION)
        self._stored: dict[str, Any] = {}

    async def async_load(self) -> None:
        data = await self._document.async_load() or {}
        self._stored = {k: data.get(k) for k in _FIELDS if data.get(k) is not None}

    @property
    def name(self) -> str:
        return str(self._stored.get("name") or self._config.name)

    @property
    def latitude(self) -> float | None:
        return self._stored.get("latitude", self._config.latitude)

    @property
    def longitude(self) -> float | None:
        return self._stored.get("longitude", self._config.longitude)

    @property
    def time_zone(self) -> str | None:
        return self._stored.get("time_zone", self._config.time_zone)

    @property
    def stored(self) -> dict[str, Any]:
        """What the owner gave (without the environment's defaults)."""
        return dict(self._stored)

    async def async_update(self, values: dict[str, Any]) -> None:
        """Keep ``clean_settings`` output; a None value returns to the environment's."""
        self._stored = {k: values[k] for k in _FIELDS if values.get(k) is not None}
        await self._document.async_save(lambda: dict(self._stored))
        self._bus.async_fire(EVENT_CORE_CONFIG_UPDATED, dict(self._stored))
        _LOGGER.info("Hub settings saved (name %s)", self.name)
