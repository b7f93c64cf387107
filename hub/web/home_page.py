"""The generated home page: rooms in the owner's order, each with its occupancy first, then
its lights and switches, then its sensors (latest value and a sparkline), then the rest;
what is in no room is shown under "Unassigned"."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from markupsafe import Markup

from hub.core.hub import Hub
from hub.web.sparkline import SparklineCache, render_sparkline, window_end
from hub.web.view_models import EntityView, entity_view

SPARKLINE_HOURS = 24
UNASSIGNED = "Unassigned"
OCCUPANCY_CLASSES = frozenset({"occupancy", "presence", "motion"})
CONTROL_DOMAINS = frozenset({"light", "switch"})
SENSOR_DOMAINS = frozenset({"sensor", "binary_sensor"})
# Settings and diagnostics stay on the device's page, as in Home Assistant's generated view.
HIDDEN_CATEGORIES = frozenset({"config", "diagnostic"})


@dataclass
class RoomSection:
    """One room (or "Unassigned") as the home page shows it."""

    area_id: str | None
    name: str
    occupancy: list[EntityView] = field(default_factory=list)
    controls: list[EntityView] = field(default_factory=list)
    sensors: list[EntityView] = field(default_factory=list)
    others: list[EntityView] = field(default_factory=list)
    sparklines: dict[str, Markup] = field(default_factory=dict)
    device_ids: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not (self.occupancy or self.controls or self.sensors or self.others)

    @property
    def occupied(self) -> bool | None:
        """True when any occupancy sensor says so; None when the room has none."""
        if not self.occupancy:
            return None
        return any(e.state == "on" for e in self.occupancy)


def is_occupancy(view: EntityView) -> bool:
    if view.domain != "binary_sensor":
        return False
    device_class = view.attributes.get("device_class")
    return device_class in OCCUPANCY_CLASSES or "occupancy" in view.entity_id


def _place(section: RoomSection, view: EntityView) -> None:
    if is_occupancy(view):
        section.occupancy.append(view)
    elif view.domain in CONTROL_DOMAINS:
        section.controls.append(view)
    elif view.domain in SENSOR_DOMAINS:
        section.sensors.append(view)
    else:
        section.others.append(view)


async def async_build_home(
    hub: Hub, sparklines: SparklineCache, now: datetime | None = None
) -> list[RoomSection]:
    """Every room in order (empty ones too, so a new room shows), then "Unassigned" when
    anything is in no room."""
    sections = {a.id: RoomSection(a.id, a.name) for a in hub.areas.async_all()}
    unassigned = RoomSection(None, UNASSIGNED)
    seen: set[str] = set()
    for row in hub.entities.async_all():
        if row.disabled:
            continue
        view = entity_view(hub, row.entity_id)
        if view is None:
            continue
        seen.add(row.entity_id)
        if view.attributes.get("entity_category") in HIDDEN_CATEGORIES:
            continue
        area = hub.areas.area_of_entity(row)
        section = sections.get(area.id, unassigned) if area else unassigned
        _place(section, view)
        if row.device_id:
            section.device_ids.add(row.device_id)
    for state in hub.states.async_all():  # states no integration registered (rare)
        if state.entity_id not in seen and (view := entity_view(hub, state.entity_id, state)):
            _place(unassigned, view)
    ordered = [*sections.values(), *([unassigned] if not unassigned.empty else [])]
    for section in ordered:
        if len(section.device_ids) == 1:  # one device: its name would repeat on every line
            _shorten_names(hub, section)
    await _async_add_sparklines(hub, sparklines, ordered, now or datetime.now(UTC))
    return ordered


def _shorten_names(hub: Hub, section: RoomSection) -> None:
    """ "Occupancy", not "Ethos presence EPD-1 Occupancy", in a room with one device."""

    def short(view: EntityView) -> EntityView:
        device = hub.devices.get(view.device_id) if view.device_id else None
        prefix = device.name if device else None
        if not prefix or not view.name.startswith(prefix + " "):
            return view
        return replace(view, name=view.name[len(prefix) + 1 :])

    for group in (section.occupancy, section.controls, section.sensors, section.others):
        group[:] = [short(v) for v in group]


async def _async_add_sparklines(
    hub: Hub, sparklines: SparklineCache, sections: list[RoomSection], now: datetime
) -> None:
    """Each numeric sensor's line: reused while its entity has not changed and the window
    has not moved a minute; the others drawn from history read in one database job."""
    end = window_end(now.timestamp())
    window = SPARKLINE_HOURS * 3600.0
    missing: list[tuple[RoomSection, EntityView, Hashable]] = []
    for section in sections:
        for view in section.sensors:
            if view.domain != "sensor":
                continue
            state = hub.states.get(view.entity_id)
            stamp = (end, state.last_updated if state else None, view.name)
            found, line = sparklines.lookup(view.entity_id, stamp)
            if not found:
                missing.append((section, view, stamp))
            elif line is not None:
                section.sparklines[view.entity_id] = line
    if not missing:
        return
    start = datetime.fromtimestamp(end - window, UTC)
    history = await hub.recorder.async_history_many([v.entity_id for _, v, _ in missing], start)
    for section, view, missing_stamp in missing:
        line = render_sparkline(
            history.get(view.entity_id, []),
            end - window,
            end,
            title=f"{view.name}, last {SPARKLINE_HOURS} hours",
        )
        sparklines.store(view.entity_id, missing_stamp, line)
        if line is not None:
            section.sparklines[view.entity_id] = line
