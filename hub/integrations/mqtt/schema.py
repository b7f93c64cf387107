"""Validated discovery configurations, one frozen dataclass per component (unknown keys
ignored); ``validate(component, config)`` checks one (see ``validation.py``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.integrations.mqtt.const import PAYLOAD_OFFLINE, PAYLOAD_ONLINE
from hub.integrations.mqtt.topics import valid_publish_topic
from hub.integrations.mqtt.validation import build, limits


def _check_topic(value: str) -> str:
    # Entity topics are concrete: a `#` in a state topic would subscribe to everything.
    if not valid_publish_topic(value):
        raise ValueError(f"invalid topic {value!r} (wildcards and $-topics are not allowed)")
    return value


def _topic(**kwargs: Any) -> Any:
    return field(metadata=limits(min_length=1, max_length=1024, check=_check_topic), **kwargs)


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceConfig:
    identifiers: list[str] = field(default_factory=list, metadata=limits(one_or_many=True))
    connections: list[tuple[str, str]] = field(default_factory=list)
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    sw_version: str | None = None
    hw_version: str | None = None
    suggested_area: str | None = None
    configuration_url: str | None = None
    serial_number: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AvailabilityConfig:
    topic: str = _topic()
    payload_available: str = PAYLOAD_ONLINE
    payload_not_available: str = PAYLOAD_OFFLINE
    value_template: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class EntityConfig:
    """Keys every component understands."""

    platform: str | None = None
    name: str | None = None
    unique_id: str | None = field(default=None, metadata=limits(max_length=255))
    object_id: str | None = field(default=None, metadata=limits(max_length=255))
    device: DeviceConfig | None = None
    availability: list[AvailabilityConfig] = field(default_factory=list)
    availability_topic: str | None = _topic(default=None)
    availability_template: str | None = None
    availability_mode: Literal["all", "any", "latest"] = "latest"
    payload_available: str = PAYLOAD_ONLINE
    payload_not_available: str = PAYLOAD_OFFLINE
    state_topic: str | None = _topic(default=None)
    value_template: str | None = None
    json_attributes_topic: str | None = _topic(default=None)
    json_attributes_template: str | None = None
    device_class: str | None = None
    icon: str | None = None
    entity_category: str | None = None
    qos: Literal[0, 1, 2] = 0
    retain: bool = False

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


@dataclass(frozen=True, kw_only=True, slots=True)
class CommandConfig(EntityConfig):
    command_topic: str | None = _topic(default=None)
    optimistic: bool | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SensorConfig(EntityConfig):
    unit_of_measurement: str | None = None
    state_class: str | None = None
    expire_after: int | None = field(default=None, metadata=limits(gt=0))
    force_update: bool = False
    suggested_display_precision: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class BinarySensorConfig(EntityConfig):
    payload_on: str = "ON"
    payload_off: str = "OFF"
    expire_after: int | None = field(default=None, metadata=limits(gt=0))
    off_delay: int | None = field(default=None, metadata=limits(gt=0))


@dataclass(frozen=True, kw_only=True, slots=True)
class SwitchConfig(CommandConfig):
    command_topic: str = _topic()
    payload_on: str = "ON"
    payload_off: str = "OFF"
    state_on: str | None = None
    state_off: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LightConfig(CommandConfig):
    command_topic: str = _topic()
    schema_: Literal["default", "basic", "json"] = field(
        default="default", metadata=limits(alias="schema")
    )
    payload_on: str = "ON"
    payload_off: str = "OFF"
    brightness: bool = False  # json schema: the light takes a brightness
    brightness_command_topic: str | None = _topic(default=None)
    brightness_state_topic: str | None = _topic(default=None)
    brightness_value_template: str | None = None
    brightness_scale: int = field(default=255, metadata=limits(ge=1))
    state_value_template: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ButtonConfig(CommandConfig):
    command_topic: str = _topic()
    payload_press: str = "PRESS"


@dataclass(frozen=True, kw_only=True, slots=True)
class NumberConfig(CommandConfig):
    command_topic: str = _topic()
    min: float = 1.0
    max: float = 100.0
    step: float = field(default=1.0, metadata=limits(gt=0))
    mode: Literal["auto", "box", "slider"] = "auto"
    unit_of_measurement: str | None = None
    payload_reset: str = "None"

    def check(self) -> None:
        if self.min >= self.max:
            raise ValueError("min must be below max")


@dataclass(frozen=True, kw_only=True, slots=True)
class SelectConfig(CommandConfig):
    command_topic: str = _topic()
    options: list[str] = field(metadata=limits(min_length=1))


CONFIG_MODELS: dict[str, type[EntityConfig]] = {
    "binary_sensor": BinarySensorConfig,
    "sensor": SensorConfig,
    "switch": SwitchConfig,
    "light": LightConfig,
    "button": ButtonConfig,
    "number": NumberConfig,
    "select": SelectConfig,
}


def validate(component: str, config: dict[str, Any]) -> EntityConfig:
    """The component's config from its expanded discovery payload (ConfigInvalid if not)."""
    return build(CONFIG_MODELS[component], config)


def as_json(config: Any) -> Any:
    """Every field by name, nested configs as objects, tuples as lists (what pins
    fingerprint). Not ``dataclasses.asdict``: its deep copies cost a start with many
    devices a tenth of a second."""
    if dataclasses.is_dataclass(config):
        return {f.name: as_json(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, list | tuple):
        return [as_json(item) for item in config]
    return config
