"""What the templates show: entity and device rows built from the hub's live data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.core.hub import Hub
from hub.core.models import DeviceRow
from hub.core.states import State

CONTROL_DOMAINS = frozenset({"switch", "light", "button", "number", "select"})


@dataclass(frozen=True)
class EntityView:
    entity_id: str
    name: str
    domain: str
    state: str
    unit: str | None
    attributes: dict[str, Any]
    device_id: str | None
    controllable: bool


@dataclass(frozen=True)
class DeviceView:
    id: str
    name: str
    manufacturer: str | None
    model: str | None
    sw_version: str | None
    identifiers: list[str]
    entities: list[EntityView]
    adoption: dict[str, Any] | None = None  # set by ethos_cloud: owner, verified, reason

    @property
    def available(self) -> bool:
        return any(e.state != "unavailable" for e in self.entities)


def entity_view(hub: Hub, entity_id: str, state: State | None = None) -> EntityView | None:
    state = state or hub.states.get(entity_id)
    row = hub.entities.get(entity_id)
    if state is None and row is None:
        return None
    attributes = dict(state.attributes) if state else {}
    domain = entity_id.split(".", 1)[0]
    return EntityView(
        entity_id=entity_id,
        name=str(attributes.get("friendly_name") or (row and row.name) or entity_id),
        domain=domain,
        state=state.state if state else "unavailable",
        unit=attributes.get("unit_of_measurement"),
        attributes=attributes,
        device_id=row.device_id if row else None,
        controllable=domain in CONTROL_DOMAINS and hub.entity_table.get(entity_id) is not None,
    )


def all_entities(hub: Hub) -> list[EntityView]:
    ids = {s.entity_id for s in hub.states.async_all()} | {
        r.entity_id for r in hub.entities.async_all()
    }
    views = [entity_view(hub, entity_id) for entity_id in sorted(ids)]
    return [v for v in views if v is not None]


def device_view(hub: Hub, device: DeviceRow) -> DeviceView:
    entities = [
        v
        for row in sorted(hub.entities.entities_for_device(device.id), key=lambda r: r.entity_id)
        if (v := entity_view(hub, row.entity_id)) is not None
    ]
    return DeviceView(
        id=device.id,
        name=device.name_by_user or device.name or device.id,
        manufacturer=device.manufacturer,
        model=device.model,
        sw_version=device.sw_version,
        identifiers=[
            ":".join(pair[1:]) if pair[0] == "mqtt" else ":".join(pair)
            for pair in device.identifiers
        ],
        entities=entities,
        adoption=device.extra.get("ethos"),
    )
