"""What browsers see of the home: the shared entities as REMOTE.md's ENTITY objects, with the
controls each one takes. Plaintext only: the uplink seals it before it leaves the hub."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.integrations.ethos_remote.const import CONTROLS

if TYPE_CHECKING:
    from hub.core.hub import Hub
    from hub.core.states import State

# Attributes a browser may show; anything else (templates, internal ids) stays at home.
SHOWN_ATTRIBUTES = frozenset(
    {
        "friendly_name",
        "unit_of_measurement",
        "device_class",
        "icon",
        "min",
        "max",
        "step",
        "mode",
        "options",
        "brightness",
        "supports_brightness",
    }
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def controls_of(state: State) -> list[dict[str, Any]]:
    """The services a browser may send for this entity (the same ones commands accept)."""
    found: list[dict[str, Any]] = []
    for service, label, field in CONTROLS.get(state.domain, ()):
        control: dict[str, Any] = {
            "service": f"{state.domain}.{service}",
            "label": label,
            "field": field,
        }
        if field == "value":
            for key in ("min", "max", "step"):
                if key in state.attributes:
                    control[key] = state.attributes[key]
        if field == "option":
            control["options"] = list(state.attributes.get("options") or [])
        found.append(control)
    return found


def entity_view(hub: Hub, state: State) -> dict[str, Any]:
    row = hub.entities.get(state.entity_id)
    device = hub.devices.get(row.device_id) if row is not None and row.device_id else None
    area = hub.areas.area_of_entity(row) if row is not None else None
    return {
        "entity_id": state.entity_id,
        "name": state.name,
        "domain": state.domain,
        "state": state.state,
        "attributes": {k: v for k, v in state.attributes.items() if k in SHOWN_ATTRIBUTES},
        "device": (device.name_by_user or device.name or "") if device is not None else "",
        "room": area.name if area is not None else None,
        "controls": controls_of(state),
    }


def snapshot(hub: Hub, shared: frozenset[str]) -> dict[str, Any]:
    entities = []
    for entity_id in sorted(shared):
        state = hub.states.get(entity_id)
        if state is not None:
            entities.append(entity_view(hub, state))
    return {
        "type": "snapshot",
        "sent_at": now_iso(),
        "hub_name": hub.core_config.name,
        "entities": entities,
    }


def state_event(hub: Hub, state: State) -> dict[str, Any]:
    return {"type": "state", "sent_at": now_iso(), "entity": entity_view(hub, state)}
