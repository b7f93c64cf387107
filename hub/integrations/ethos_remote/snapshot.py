"""What browsers see of the home: the shared entities as REMOTE.md's ENTITY objects, with the
controls each one takes. Plaintext only: the uplink seals it before it leaves the hub.

A snapshot larger than one envelope holds goes out in parts (REMOTE.md, "Snapshot parts"):
each part's plaintext stays within ``MAX_PLAINTEXT_BYTES``, all carry the same snapshot id
and the part count, so a browser shows a complete set and never a mix of two snapshots.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.integrations.ethos_remote.const import CONTROLS
from hub.integrations.ethos_remote.crypto_const import (
    MAX_PLAINTEXT_BYTES,
    MAX_SNAPSHOT_PARTS,
    SNAPSHOT_ID_HEX_CHARS,
)
from hub.integrations.ethos_remote.envelope import compact_json

if TYPE_CHECKING:
    from hub.core.hub import Hub
    from hub.core.states import State

_LOGGER = logging.getLogger(__name__)

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


def snapshot_parts(
    hub: Hub,
    shared: frozenset[str],
    *,
    budget: int = MAX_PLAINTEXT_BYTES,
    max_parts: int = MAX_SNAPSHOT_PARTS,
) -> list[dict[str, Any]]:
    """The snapshot of the shared entities as its parts (at least one, at most ``max_parts``),
    each part's compact JSON within ``budget`` bytes. An entity too large for a part on its
    own, and the entities beyond ``max_parts`` parts, are left out (logged): a browser
    refuses more parts, and one entity is never split."""
    header: dict[str, Any] = {
        "type": "snapshot",
        "sent_at": now_iso(),
        "hub_name": hub.core_config.name,
        "snapshot": os.urandom(SNAPSHOT_ID_HEX_CHARS // 2).hex(),
        "part": max_parts,  # the widest numbers, for the size of the frame
        "parts": max_parts,
        "entities": [],
    }
    frame = len(compact_json(header))
    groups: list[list[dict[str, Any]]] = [[]]
    used = frame
    left_out: list[str] = []
    for entity_id in sorted(shared):
        state = hub.states.get(entity_id)
        if state is None:
            continue
        view = entity_view(hub, state)
        size = len(compact_json(view))
        if frame + size > budget:
            left_out.append(entity_id)
            continue
        separator = 1 if groups[-1] else 0
        if used + separator + size > budget:
            if len(groups) == max_parts:
                left_out.append(entity_id)
                continue
            groups.append([])
            used, separator = frame, 0
        groups[-1].append(view)
        used += separator + size
    if left_out:
        _LOGGER.warning(
            "Remote snapshot: %s shared entities left out (over %s parts of %s bytes): %s",
            len(left_out),
            max_parts,
            budget,
            ", ".join(left_out[:5]),
        )
    return [
        {**header, "part": index, "parts": len(groups), "entities": group}
        for index, group in enumerate(groups)
    ]


def state_event(hub: Hub, state: State) -> dict[str, Any]:
    return {"type": "state", "sent_at": now_iso(), "entity": entity_view(hub, state)}
