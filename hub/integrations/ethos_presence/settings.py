"""Changing a detector's settings: sent over MQTT, confirmed only by the device's echo.

The command goes through the setting's own number/select entity (which range-checks it
and publishes ``ethos/<serial>/set/<key>``); the device answers on ``ethos/<serial>/<key>``
with the value now in force: the requested one (confirmed), or the previous one when it
refused the value (it snaps back). No echo within the timeout: "not confirmed".
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.const import ATTR_ENTITY_ID
from hub.core.errors import ServiceValidationError
from hub.core.events import Context
from hub.integrations.ethos_presence.const import (
    CONFIRM_TIMEOUT_S,
    ECHO_MAX_BYTES,
    SETTING_LABELS,
    SETTINGS,
)
from hub.integrations.ethos_presence.detector import PresenceDetector
from hub.integrations.mqtt.request import MqttRequest
from hub.integrations.mqtt.runtime import mqtt_runtime

if TYPE_CHECKING:
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    DIFFERENT = "different"  # the device refused or adjusted the value (it says which)
    NOT_CONFIRMED = "not_confirmed"


@dataclass(frozen=True)
class SettingResult:
    key: str
    requested: str
    outcome: Outcome
    in_force: str | None
    at: datetime

    @property
    def message(self) -> str:
        label = SETTING_LABELS.get(self.key, self.key)
        if self.outcome is Outcome.CONFIRMED:
            return f"{label} set to {self.requested}: confirmed by the device."
        if self.outcome is Outcome.DIFFERENT:
            return f"{label}: the device did not take {self.requested}; it uses {self.in_force}."
        return f"{label} {self.requested} was sent, but the device did not confirm it."


def _same(requested: str, echoed: str, numeric: bool) -> bool:
    if not numeric:
        return requested == echoed
    try:
        return math.isclose(float(requested), float(echoed), rel_tol=1e-9, abs_tol=1e-9)
    except ValueError:
        return False


class SettingsChanger:
    """Sends one setting and waits for the echo; remembers the last result per device."""

    def __init__(self, hub: Hub, timeout: float = CONFIRM_TIMEOUT_S) -> None:
        self._hub = hub
        self.timeout = timeout
        self.last_result: dict[str, SettingResult] = {}

    async def async_set(
        self, detector: PresenceDetector, key: str, value: Any, context: Context | None = None
    ) -> SettingResult:
        if key not in SETTINGS:
            raise ServiceValidationError(f"unknown setting {key!r}")
        entity_id = detector.entity(key)
        if entity_id is None:
            raise ServiceValidationError(f"this detector does not offer {key!r}")
        runtime = mqtt_runtime(self._hub)
        if runtime is None:
            raise ServiceValidationError("the MQTT broker is not connected")
        numeric = entity_id.startswith("number.")
        requested = str(value).strip()
        if not requested:
            raise ServiceValidationError("enter a value")
        service, field = ("set_value", "value") if numeric else ("select_option", "option")
        async with MqttRequest(
            runtime.client, f"ethos/{detector.serial}/{key}", max_bytes=ECHO_MAX_BYTES
        ) as request:
            await self._hub.services.async_call(
                entity_id.split(".", 1)[0],
                service,
                {ATTR_ENTITY_ID: entity_id, field: requested},
                context,
            )
            result = await self._async_wait_echo(key, requested, numeric, request)
        self.last_result[detector.device_id] = result
        _LOGGER.info("Setting %s=%s on %s: %s", key, requested, detector.serial, result.outcome)
        return result

    async def _async_wait_echo(
        self, key: str, requested: str, numeric: bool, request: MqttRequest
    ) -> SettingResult:
        async for reply in request.replies(self.timeout):
            echoed = reply.decode("utf-8", "replace")
            # The device echoes the value in force: the requested one, the old one when it
            # refused the new one, or the value snapped to its step.
            outcome = Outcome.CONFIRMED if _same(requested, echoed, numeric) else Outcome.DIFFERENT
            return SettingResult(key, requested, outcome, echoed, _now())
        return SettingResult(key, requested, Outcome.NOT_CONFIRMED, None, _now())


def _now() -> datetime:
    return datetime.now(UTC)
