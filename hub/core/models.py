"""The registries' rows, as plain dataclasses, and how any such row becomes JSON and back;
``DeviceInfo``, the one description of a physical device."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

R = TypeVar("R")


def utcnow() -> datetime:
    return datetime.now(UTC)


def row_to_json(row: Any) -> dict[str, Any]:
    """A dataclass row as JSON values (datetimes as ISO 8601 text)."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(row):
        value = getattr(row, field.name)
        out[field.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def row_from_json(cls: type[R], raw: dict[str, Any]) -> R:
    """The dataclass ``cls`` from ``row_to_json`` output; unknown keys are ignored."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name not in raw:
            continue
        value = raw[field.name]
        if isinstance(value, str) and "datetime" in str(field.type):
            value = aware(datetime.fromisoformat(value))
        values[field.name] = value
    return cls(**values)


def aware(moment: datetime) -> datetime:
    """Stored times are UTC; an older hub's SQLite handed them back without a zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class DeviceInfo:
    """What an integration knows about a physical device: the one description of a device.

    Integrations hand it to the device registry (through their entities); the registry's
    row keeps each of its fields (``DESCRIPTION_FIELDS`` are updated when a later report
    differs, identifiers and connections are merged, ``extra`` notes are merged by key).
    """

    identifiers: tuple[tuple[str, str], ...] = ()
    connections: tuple[tuple[str, str], ...] = ()
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    sw_version: str | None = None
    hw_version: str | None = None
    suggested_area: str | None = None
    configuration_url: str | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)


# The descriptive fields: each a text (or None) that a later report may change.
DESCRIPTION_FIELDS: Final = tuple(
    f.name
    for f in dataclasses.fields(DeviceInfo)
    if f.name not in ("identifiers", "connections", "extra")
)


def described(info: DeviceInfo, source: object) -> DeviceInfo:
    """``info`` with every descriptive field that ``source`` has (e.g. a discovery config)."""
    found = {name: getattr(source, name) for name in DESCRIPTION_FIELDS if hasattr(source, name)}
    return dataclasses.replace(info, **found)


@dataclasses.dataclass(slots=True)
class DeviceRow:
    """A physical device, matched by its identifiers or connections."""

    id: str
    config_entry_id: str | None = None
    identifiers: list[list[str]] = dataclasses.field(default_factory=list)
    connections: list[list[str]] = dataclasses.field(default_factory=list)
    name: str | None = None
    name_by_user: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    sw_version: str | None = None
    hw_version: str | None = None
    suggested_area: str | None = None
    configuration_url: str | None = None
    area_id: str | None = None  # the room it is in (hub.core.area_registry)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    created_at: datetime = dataclasses.field(default_factory=utcnow)


@dataclasses.dataclass(slots=True)
class EntityRow:
    """An entity's stable id for its (platform, unique_id) pair."""

    entity_id: str
    platform: str
    unique_id: str
    device_id: str | None = None
    config_entry_id: str | None = None
    name: str | None = None
    original_name: str | None = None
    disabled: bool = False
    area_id: str | None = None  # its own room; None: the room of its device
    created_at: datetime = dataclasses.field(default_factory=utcnow)


@dataclasses.dataclass(slots=True)
class AreaRow:
    """A room of the home; ``order`` places it among the others."""

    id: str
    name: str
    order: int = 0
    created_at: datetime = dataclasses.field(default_factory=utcnow)
