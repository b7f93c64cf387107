"""Sunrise and sunset at the hub's configured place (``ETHOS_HUB_LATITUDE``/``LONGITUDE``).

astral is imported on the first question, not when the hub starts (most hubs never ask).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from astral import Observer

# How far ahead to look for the next event: past the polar night of the far north.
_SEARCH_DAYS = 200


class SunNotConfigured(ValueError):
    """`sun` was used but the hub does not know where it is."""


class Sun:
    """Sun events for one place; ``None`` coordinates refuse every question with a reason."""

    def __init__(self, latitude: float | None, longitude: float | None, time_zone: tzinfo) -> None:
        self._place = None if latitude is None or longitude is None else (latitude, longitude)
        self._observer: Observer | None = None
        self._tz = time_zone

    @property
    def configured(self) -> bool:
        return self._place is not None

    def event_on(self, event: str, day: date) -> datetime | None:
        """UTC time of ``event`` (sunrise/sunset) on the local ``day``; None when the sun
        does not rise or set that day (polar day or night)."""
        if self._place is None:
            raise SunNotConfigured(
                "the hub's location is not set (ETHOS_HUB_LATITUDE, ETHOS_HUB_LONGITUDE)"
            )
        from astral import Observer
        from astral.sun import sunrise, sunset

        if self._observer is None:
            self._observer = Observer(latitude=self._place[0], longitude=self._place[1])
        compute = sunrise if event == "sunrise" else sunset
        try:
            return compute(self._observer, day, tzinfo=self._tz).astimezone(UTC)
        except ValueError:
            return None

    def next_event(self, event: str, after: datetime, offset: timedelta) -> datetime | None:
        """The first ``event`` + ``offset`` strictly after ``after``."""
        day = after.astimezone(self._tz).date() - timedelta(days=1)
        for _ in range(_SEARCH_DAYS):
            when = self.event_on(event, day)
            if when is not None and when + offset > after:
                return when + offset
            day += timedelta(days=1)
        return None
