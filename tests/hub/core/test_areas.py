"""Rooms (areas): create, rename, order, remove; devices and single entities assigned to
rooms; everything kept across a restart in the ``core.area_registry`` document."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.core.errors import ServiceValidationError
from hub.core.hub import Hub
from hub.core.models import DeviceInfo
from tests.hub.common import async_written_document, make_config, running_hub


async def _device(hub: Hub, serial: str) -> str:
    device = await hub.devices.async_get_or_create(
        DeviceInfo(identifiers=(("ethos", serial),), name=f"Detector {serial}")
    )
    await hub.entities.async_get_or_create(
        "binary_sensor",
        "test",
        f"{serial}-occupancy",
        suggested_object_id=f"{serial} occupancy",
        device_id=device.id,
    )
    return device.id


async def test_rooms_are_created_renamed_ordered_and_survive_a_restart(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    async with running_hub(config) as hub:
        kitchen = await hub.areas.async_create("  Kitchen ")
        living = await hub.areas.async_create("Living room")
        office = await hub.areas.async_create("Office")
        assert [a.name for a in hub.areas.async_all()] == ["Kitchen", "Living room", "Office"]
        await hub.areas.async_move(office.id, -2)
        await hub.areas.async_rename(kitchen.id, "Kitchen & dining")
        assert [a.name for a in hub.areas.async_all()] == [
            "Office",
            "Kitchen & dining",
            "Living room",
        ]
        written = await async_written_document(hub, "core.area_registry")
        assert [a["name"] for a in written["areas"]] == [
            "Office",
            "Kitchen & dining",
            "Living room",
        ]
        device_id = await _device(hub, "EPD-1")
        await hub.areas.async_assign_device(device_id, living.id)
    async with running_hub(config) as hub:
        assert [a.name for a in hub.areas.async_all()] == [
            "Office",
            "Kitchen & dining",
            "Living room",
        ]
        assert hub.devices.get(device_id).area_id == living.id  # type: ignore[union-attr]


async def test_bad_room_names_are_refused_with_a_reason(tmp_path: Path) -> None:
    async with running_hub(make_config(tmp_path)) as hub:
        await hub.areas.async_create("Kitchen")
        with pytest.raises(ServiceValidationError, match="already a room called 'kitchen'"):
            await hub.areas.async_create("kitchen")
        with pytest.raises(ServiceValidationError, match="needs a name"):
            await hub.areas.async_create("   ")
        with pytest.raises(ServiceValidationError, match="at most 60 characters"):
            await hub.areas.async_create("x" * 61)
        with pytest.raises(ServiceValidationError, match="no such room"):
            await hub.areas.async_rename("nope", "Hall")
        assert [a.name for a in hub.areas.async_all()] == ["Kitchen"]


async def test_devices_and_single_entities_are_assigned_and_moved(tmp_path: Path) -> None:
    async with running_hub(make_config(tmp_path)) as hub:
        hall = await hub.areas.async_create("Hall")
        bedroom = await hub.areas.async_create("Bedroom")
        device_id = await _device(hub, "EPD-2")
        entity = hub.entities.entities_for_device(device_id)[0]
        assert hub.areas.area_of_entity(entity) is None
        await hub.areas.async_assign_device(device_id, hall.id)
        assert hub.areas.area_of_entity(entity) == hall  # in its device's room
        await hub.areas.async_assign_device(device_id, bedroom.id)  # moved
        assert hub.areas.area_of_entity(entity) == bedroom
        await hub.areas.async_assign_entity(entity.entity_id, hall.id)  # on its own
        assert hub.areas.area_of_entity(entity) == hall
        await hub.areas.async_assign_entity(entity.entity_id, None)  # back with its device
        assert hub.areas.area_of_entity(entity) == bedroom
        with pytest.raises(ServiceValidationError, match="no such room"):
            await hub.areas.async_assign_device(device_id, "gone")
        assert hub.devices.get(device_id).area_id == bedroom.id  # type: ignore[union-attr]


async def test_removing_a_room_with_devices_in_it_unassigns_them(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    async with running_hub(config) as hub:
        hall = await hub.areas.async_create("Hall")
        attic = await hub.areas.async_create("Attic")
        first, second = await _device(hub, "EPD-3"), await _device(hub, "EPD-4")
        await hub.areas.async_assign_device(first, hall.id)
        await hub.areas.async_assign_device(second, attic.id)
        lone = hub.entities.entities_for_device(second)[0]
        await hub.areas.async_assign_entity(lone.entity_id, hall.id)
        await hub.areas.async_remove(hall.id)
        assert [a.name for a in hub.areas.async_all()] == ["Attic"]
        assert hub.devices.get(first).area_id is None  # type: ignore[union-attr]
        assert hub.entities.get(lone.entity_id).area_id is None  # type: ignore[union-attr]
        assert hub.areas.area_of_entity(lone) == attic  # back in its device's room
        assert [d.id for d in hub.devices.async_all()] == sorted(
            [first, second],
            key=lambda i: hub.devices.get(i).name,  # type: ignore[union-attr]
        )
    async with running_hub(config) as hub:
        assert hub.devices.get(first).area_id is None  # type: ignore[union-attr]
        assert hub.devices.get(second).area_id == attic.id  # type: ignore[union-attr]
