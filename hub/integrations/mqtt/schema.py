"""Validated discovery configurations, one model per component (unknown keys ignored)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.integrations.mqtt.const import PAYLOAD_OFFLINE, PAYLOAD_ONLINE
from hub.integrations.mqtt.topics import valid_publish_topic

Topic = Annotated[str, Field(min_length=1, max_length=1024)]


def _check_topic(value: str | None) -> str | None:
    # Entity topics are concrete: a `#` in a state topic would subscribe to everything.
    if value is not None and not valid_publish_topic(value):
        raise ValueError(f"invalid topic {value!r} (wildcards and $-topics are not allowed)")
    return value


class _Model(BaseModel):
    # Built on first use: a hub whose devices are all sensors never pays for the light schema.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class DeviceConfig(_Model):
    identifiers: list[str] = []
    connections: list[tuple[str, str]] = []
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    sw_version: str | None = None
    hw_version: str | None = None
    suggested_area: str | None = None
    configuration_url: str | None = None
    serial_number: str | None = None

    @field_validator("identifiers", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class AvailabilityConfig(_Model):
    topic: Topic
    payload_available: str = PAYLOAD_ONLINE
    payload_not_available: str = PAYLOAD_OFFLINE
    value_template: str | None = None

    _topic = field_validator("topic")(classmethod(lambda cls, v: _check_topic(v)))


class EntityConfig(_Model):
    """Keys every component understands."""

    platform: str | None = None
    name: str | None = None
    unique_id: str | None = Field(default=None, max_length=255)
    object_id: str | None = Field(default=None, max_length=255)
    device: DeviceConfig | None = None
    availability: list[AvailabilityConfig] = []
    availability_topic: Topic | None = None
    availability_template: str | None = None
    availability_mode: Literal["all", "any", "latest"] = "latest"
    payload_available: str = PAYLOAD_ONLINE
    payload_not_available: str = PAYLOAD_OFFLINE
    state_topic: Topic | None = None
    value_template: str | None = None
    json_attributes_topic: Topic | None = None
    json_attributes_template: str | None = None
    device_class: str | None = None
    icon: str | None = None
    entity_category: str | None = None
    qos: Literal[0, 1, 2] = 0
    retain: bool = False

    _topics = field_validator("availability_topic", "state_topic", "json_attributes_topic")(
        classmethod(lambda cls, v: _check_topic(v))
    )

    def availability_list(self) -> list[AvailabilityConfig]:
        items = list(self.availability)
        if self.availability_topic:
            items.append(
                AvailabilityConfig(
                    topic=self.availability_topic,
                    payload_available=self.payload_available,
                    payload_not_available=self.payload_not_available,
                    value_template=self.availability_template,
                )
            )
        return items


class CommandConfig(EntityConfig):
    command_topic: Topic | None = None
    optimistic: bool | None = None

    _command = field_validator("command_topic")(classmethod(lambda cls, v: _check_topic(v)))


class SensorConfig(EntityConfig):
    unit_of_measurement: str | None = None
    state_class: str | None = None
    expire_after: int | None = Field(default=None, gt=0)
    force_update: bool = False
    suggested_display_precision: int | None = None


class BinarySensorConfig(EntityConfig):
    payload_on: str = "ON"
    payload_off: str = "OFF"
    expire_after: int | None = Field(default=None, gt=0)
    off_delay: int | None = Field(default=None, gt=0)


class SwitchConfig(CommandConfig):
    command_topic: Topic
    payload_on: str = "ON"
    payload_off: str = "OFF"
    state_on: str | None = None
    state_off: str | None = None


class LightConfig(CommandConfig):
    command_topic: Topic
    schema_: Literal["default", "basic", "json"] = Field(default="default", alias="schema")
    payload_on: str = "ON"
    payload_off: str = "OFF"
    brightness: bool = False  # json schema: the light takes a brightness
    brightness_command_topic: Topic | None = None
    brightness_state_topic: Topic | None = None
    brightness_value_template: str | None = None
    brightness_scale: int = Field(default=255, ge=1)
    state_value_template: str | None = None

    _brightness = field_validator("brightness_command_topic", "brightness_state_topic")(
        classmethod(lambda cls, v: _check_topic(v))
    )


class ButtonConfig(CommandConfig):
    command_topic: Topic
    payload_press: str = "PRESS"


class NumberConfig(CommandConfig):
    command_topic: Topic
    min: float = 1.0
    max: float = 100.0
    step: float = Field(default=1.0, gt=0)
    mode: Literal["auto", "box", "slider"] = "auto"
    unit_of_measurement: str | None = None
    payload_reset: str = "None"

    @model_validator(mode="after")
    def _range(self) -> NumberConfig:
        if self.min >= self.max:
            raise ValueError("min must be below max")
        return self


class SelectConfig(CommandConfig):
    command_topic: Topic
    options: list[str] = Field(min_length=1)


CONFIG_MODELS: dict[str, type[EntityConfig]] = {
    "binary_sensor": BinarySensorConfig,
    "sensor": SensorConfig,
    "switch": SwitchConfig,
    "light": LightConfig,
    "button": ButtonConfig,
    "number": NumberConfig,
    "select": SelectConfig,
}
