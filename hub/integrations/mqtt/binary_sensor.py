"""MQTT binary sensor: payload_on / payload_off, optional off_delay."""

from __future__ import annotations

import asyncio

from hub.const import STATE_OFF, STATE_ON
from hub.integrations.mqtt.entity import MqttEntity
from hub.integrations.mqtt.schema import BinarySensorConfig


class MqttBinarySensor(MqttEntity):
    domain = "binary_sensor"
    config: BinarySensorConfig
    _value: str | None = None
    _off_handle: asyncio.TimerHandle | None = None

    def process_state(self, value: str) -> bool:
        if value == self.config.payload_on:
            self._value = STATE_ON
            if self.config.off_delay:
                self._schedule_off(self.config.off_delay)
        elif value == self.config.payload_off:
            self._value = STATE_OFF
        elif value in ("", "None"):
            self._value = None
        else:
            self.log_once("payload", "ignoring payload %r (neither on nor off)", value[:64])
            return False
        return True

    def _schedule_off(self, delay: float) -> None:
        if self._off_handle is not None:
            self._off_handle.cancel()
        self._off_handle = asyncio.get_running_loop().call_later(delay, self._turn_off)

    def _turn_off(self) -> None:
        self._off_handle = None
        self._value = STATE_OFF
        self.async_write_state()

    async def async_will_remove(self) -> None:
        if self._off_handle is not None:
            self._off_handle.cancel()
        await super().async_will_remove()

    def state_value(self) -> str | None:
        return self._value
