"""SQLModel tables for everything the hub persists, on a metadata of its own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


# Default factories are plain functions, not ``list``/``dict``: pydantic inspects a factory's
# signature on every row it builds, and a builtin's signature is parsed from text (~0.2 ms).
def empty_list() -> list[Any]:
    return []


def empty_dict() -> dict[str, Any]:
    return {}


class HubModel(SQLModel, registry=registry()):
    """Base for hub tables; its own metadata keeps them apart from the cloud's."""


class DeviceRow(HubModel, table=True):
    __tablename__ = "hub_device"

    id: str = Field(primary_key=True)
    config_entry_id: str | None = Field(default=None, index=True)
    identifiers: list[list[str]] = Field(default_factory=empty_list, sa_column=Column(JSON))
    connections: list[list[str]] = Field(default_factory=empty_list, sa_column=Column(JSON))
    name: str | None = None
    name_by_user: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    sw_version: str | None = None
    hw_version: str | None = None
    suggested_area: str | None = None
    configuration_url: str | None = None
    extra: dict[str, Any] = Field(default_factory=empty_dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


class EntityRow(HubModel, table=True):
    __tablename__ = "hub_entity"
    __table_args__ = (Index("ix_hub_entity_platform_uid", "platform", "unique_id", unique=True),)

    entity_id: str = Field(primary_key=True)
    platform: str
    unique_id: str
    device_id: str | None = Field(default=None, index=True)
    config_entry_id: str | None = None
    name: str | None = None
    original_name: str | None = None
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class ConfigEntryRow(HubModel, table=True):
    __tablename__ = "hub_config_entry"

    entry_id: str = Field(primary_key=True)
    domain: str = Field(index=True)
    title: str
    data: dict[str, Any] = Field(default_factory=empty_dict, sa_column=Column(JSON))
    options: dict[str, Any] = Field(default_factory=empty_dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


class StateHistoryRow(HubModel, table=True):
    """One recorded state; time as UTC epoch seconds so inserts and range scans stay cheap."""

    __tablename__ = "hub_state_history"
    __table_args__ = (Index("ix_hub_history_entity_time", "entity_id", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    entity_id: str
    state: str
    ts: float = Field(index=True)
