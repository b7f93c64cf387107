"""The hub's name, place and time zone: the owner's values kept in ``core.config``, the
environment's as defaults, bad values refused with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.core.core_config import clean_settings
from hub.core.errors import ServiceValidationError
from tests.hub.common import make_config, running_hub


async def test_saved_settings_win_over_the_environment_and_survive_a_restart(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path, name="From env", latitude=1.0, longitude=2.0)
    async with running_hub(config) as hub:
        assert (hub.core_config.name, hub.core_config.latitude) == ("From env", 1.0)
        await hub.core_config.async_update(
            clean_settings({"name": " Maison  Dupont ", "latitude": "48,85", "longitude": "2.35",
                            "time_zone": "Europe/Paris"})
        )  # fmt: skip
    async with running_hub(config) as hub:
        place = hub.core_config
        assert (place.name, place.latitude, place.longitude, place.time_zone) == (
            "Maison Dupont",
            48.85,
            2.35,
            "Europe/Paris",
        )
        await place.async_update(clean_settings({"name": ""}))  # back to the environment's
        assert (place.name, place.latitude, place.time_zone) == ("From env", 1.0, None)


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"latitude": "north", "longitude": "2"}, "latitude is a number of degrees"),
        ({"latitude": "91", "longitude": "2"}, "between -90 and 90"),
        ({"latitude": "45"}, "both latitude and longitude"),
        ({"time_zone": "Mars/Olympus"}, "not a time zone"),
        ({"name": "x" * 61}, "at most 60 characters"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(form: dict[str, str], reason: str) -> None:
    with pytest.raises(ServiceValidationError, match=reason):
        clean_settings(form)
