"""Ready-made automations. "Lights follow presence": a room's light on when its detector
says occupied (and, optionally, the room is darker than a lux level), off N minutes after
it says vacant — never while the radar still sees someone sitting still."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.core.entity_registry import slugify

# The detector's radar target states in which someone is there without moving.
STILL_TARGETS = ("still", "both")


@dataclass(frozen=True)
class LightsFollowPresence:
    room: str  # the room's name, for the alias
    occupancy: str  # the detector's fused occupancy (binary_sensor)
    light: str  # light.* to switch
    off_after_minutes: float = 5.0
    target: str | None = None  # the detector's radar target sensor (still person guard)
    lux_sensor: str | None = None  # only switch on below lux_below, when given
    lux_below: float | None = None

    @property
    def automation_id(self) -> str:
        return f"lights_follow_presence_{slugify(self.room) or 'room'}"

    def as_automation(self) -> dict[str, Any]:
        off_after = {"minutes": self.off_after_minutes}
        on_conditions: list[dict[str, Any]] = []
        if self.lux_sensor and self.lux_below is not None:
            on_conditions.append(
                {
                    "condition": "numeric_state",
                    "entity_id": self.lux_sensor,
                    "below": self.lux_below,
                }
            )
        off_conditions: list[dict[str, Any]] = [
            {"condition": "presence", "entity_id": self.occupancy, "state": "vacant"}
        ]
        triggers: list[dict[str, Any]] = [
            {
                "trigger": "presence",
                "entity_id": self.occupancy,
                "to": "occupied",
                "id": "occupied",
            },
            {
                "trigger": "presence",
                "entity_id": self.occupancy,
                "to": "vacant",
                "for": off_after,
                "id": "vacant",
            },
        ]
        if self.target:
            off_conditions.append(
                {
                    "not": [
                        {
                            "condition": "state",
                            "entity_id": self.target,
                            "state": list(STILL_TARGETS),
                        }
                    ]
                }
            )
            # The radar stops seeing the still person: the off-delay counts from then.
            triggers.append(
                {
                    "trigger": "state",
                    "entity_id": self.target,
                    "not_to": list(STILL_TARGETS),
                    "for": off_after,
                    "id": "vacant",
                }
            )
        return {
            "id": self.automation_id,
            "alias": f"Lights follow presence: {self.room}",
            "description": (
                f"{self.light} on when {self.occupancy} says occupied; off "
                f"{self.off_after_minutes:g} min after vacant"
                + (", never while the radar sees someone still" if self.target else "")
                + (f"; only below {self.lux_below:g} lx" if on_conditions else "")
                + ". Applied from the presence page."
            ),
            "mode": "restart",
            "triggers": triggers,
            "actions": [
                {
                    "choose": [
                        {
                            "conditions": [
                                {"condition": "trigger", "id": "occupied"},
                                *on_conditions,
                            ],
                            "sequence": [
                                {"action": "light.turn_on", "target": {"entity_id": self.light}}
                            ],
                        },
                        {
                            "conditions": [
                                {"condition": "trigger", "id": "vacant"},
                                *off_conditions,
                            ],
                            "sequence": [
                                {"action": "light.turn_off", "target": {"entity_id": self.light}}
                            ],
                        },
                    ]
                }
            ],
        }
