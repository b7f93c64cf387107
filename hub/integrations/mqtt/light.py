"""MQTT light: on/off and brightness, in the default schema or Zigbee2MQTT's JSON schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hub.const import STATE_OFF, STATE_ON
from hub.core.callback import callback
from hub.core.errors import ServiceValidationError
from hub.core.events import Context
from hub.integrations.mqtt.client import ReceivedMessage
from hub.integrations.mqtt.entity import MqttEntity
from hub.integrations.mqtt.schema import LightConfig
from hub.integrations.mqtt.template import TemplateRefused, TemplateRenderError, ValueTemplate

MAX_BRIGHTNESS = 255  # the hub's own scale, whatever the device's


class MqttLight(MqttEntity):
    domain = "light"
    services = frozenset({"turn_on", "turn_off", "toggle"})
    config: LightConfig
    _value: str | None = None
    _brightness: int | None = None
    _brightness_template: ValueTemplate | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.json_schema:
            self._brightness_template = self.value_template(
                "brightness_value_template", self.config.brightness_value_template
            )

    @property
    def json_schema(self) -> bool:
        return self.config.schema_ == "json"

    @property
    def supports_brightness(self) -> bool:
        return (
            self.config.brightness
            if self.json_schema
            else bool(self.config.brightness_command_topic)
        )

    def state_template_source(self) -> tuple[str, str | None]:
        if self.config.schema_ == "json":
            return "value_template", None
        if self.config.state_value_template:
            return "state_value_template", self.config.state_value_template
        return "value_template", self.config.value_template

    async def async_added(self) -> None:
        await super().async_added()
        if not self.json_schema:
            await self.async_subscribe(
                self.config.brightness_state_topic, self._on_brightness_message
            )

    def _to_hub_scale(self, device_value: float) -> int:
        return max(
            0,
            min(
                MAX_BRIGHTNESS, round(device_value * MAX_BRIGHTNESS / self.config.brightness_scale)
            ),
        )

    def _to_device_scale(self, hub_value: int) -> int:
        return round(hub_value * self.config.brightness_scale / MAX_BRIGHTNESS)

    def process_state(self, value: str) -> bool:
        if self.json_schema:
            return self._process_json_state(value)
        if value == self.config.payload_on:
            self._value = STATE_ON
        elif value == self.config.payload_off:
            self._value = STATE_OFF
        else:
            self.log_once("payload", "ignoring state %r", value[:64])
            return False
        return True

    def _process_json_state(self, value: str) -> bool:
        try:
            data = json.loads(value)
        except ValueError:
            self.log_once("json", "state is not JSON")
            return False
        if not isinstance(data, dict):
            return False
        state = data.get("state")
        if state in ("ON", "OFF"):
            self._value = STATE_ON if state == "ON" else STATE_OFF
        brightness = data.get("brightness")
        if isinstance(brightness, int | float) and not isinstance(brightness, bool):
            self._brightness = self._to_hub_scale(brightness)
        return True

    def _on_brightness_message(self, message: ReceivedMessage) -> None:
        text = message.payload.decode("utf-8", "replace")
        try:
            if self._brightness_template is not None:
                text = self._brightness_template.render(text)
            self._brightness = self._to_hub_scale(float(text))
        except TemplateRefused as err:
            self.refuse_template("brightness_value_template", err)
            return
        except (TemplateRenderError, ValueError):
            self.log_once("brightness", "ignoring brightness %r", text[:64])
            return
        self.async_write_state()

    def state_value(self) -> str | None:
        return self._value

    @callback
    def async_write_state(self, context: Context | None = None) -> None:
        extra: dict[str, bool | int] = {"supports_brightness": self.supports_brightness}
        if self._value == STATE_ON and self._brightness is not None:
            extra["brightness"] = self._brightness
        if extra != self._extra_attributes:
            self.set_extra_attributes(extra)
        super().async_write_state(context)

    async def async_handle_service(
        self, service: str, data: Mapping[str, Any], context: Context
    ) -> None:
        turn_on = service == "turn_on" or (service == "toggle" and self._value != STATE_ON)
        brightness = data.get("brightness") if turn_on else None
        if brightness is not None:
            try:
                brightness = int(brightness)
            except (TypeError, ValueError) as err:
                raise ServiceValidationError("brightness must be a whole number") from err
            if not 0 <= brightness <= MAX_BRIGHTNESS:
                raise ServiceValidationError("brightness must be between 0 and 255")
        if self.json_schema:
            command: dict[str, Any] = {"state": "ON" if turn_on else "OFF"}
            if brightness is not None and self.supports_brightness:
                command["brightness"] = self._to_device_scale(brightness)
            await self.async_publish(self.config.command_topic, json.dumps(command))
        else:
            if brightness is not None and self.config.brightness_command_topic:
                await self.async_publish(
                    self.config.brightness_command_topic, str(self._to_device_scale(brightness))
                )
            payload = self.config.payload_on if turn_on else self.config.payload_off
            await self.async_publish(self.config.command_topic, payload)
        if self.optimistic:
            self._value = STATE_ON if turn_on else STATE_OFF
            if brightness is not None:
                self._brightness = brightness
            self.async_write_state(context)
