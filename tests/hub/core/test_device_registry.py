"""The device registry takes a DeviceInfo and keeps all of it, across a restart."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hub.const import EVENT_DEVICE_REGISTRY_UPDATED
from hub.core.events import Event
from hub.core.hub import Hub
from hub.core.models import DeviceInfo, DeviceRow
from tests.hub.common import make_config

INFO = DeviceInfo(
    identifiers=(("test", "plug-1"),),
    connections=(("mac", "aa:bb:cc:dd:ee:ff"),),
    name="Plug",
    manufacturer="Acme",
    model="P1",
    serial_number="SN-42",
    sw_version="2.0",
    hw_version="1",
    suggested_area="Kitchen",
    configuration_url="http://plug.local/",
    extra={"acme": {"paired": True}},
)


def test_a_registry_row_has_room_for_every_field_of_a_device_info() -> None:
    row_fields = {f.name for f in dataclasses.fields(DeviceRow)}
    assert {f.name for f in dataclasses.fields(DeviceInfo)} <= row_fields


async def test_a_device_info_is_kept_whole_and_survives_a_restart(tmp_path: Path) -> None:
    hub = Hub(make_config(tmp_path))
    await hub.async_start()
    row = await hub.devices.async_get_or_create(INFO, config_entry_id="entry-1")
    await hub.async_stop()

    hub = Hub(make_config(tmp_path))
    await hub.async_start()
    try:
        kept = hub.devices.get(row.id)
        assert kept is not None
        assert kept.config_entry_id == "entry-1"
        assert kept.identifiers == [["test", "plug-1"]]
        assert kept.connections == [["mac", "aa:bb:cc:dd:ee:ff"]]
        for name in ("name", "manufacturer", "model", "serial_number", "sw_version"):
            assert getattr(kept, name) == getattr(INFO, name)
        assert (kept.hw_version, kept.suggested_area) == ("1", "Kitchen")
        assert kept.configuration_url == "http://plug.local/"
        assert kept.extra == {"acme": {"paired": True}}
    finally:
        await hub.async_stop()


async def test_a_later_report_updates_merges_and_says_so_only_when_it_changes(
    tmp_path: Path,
) -> None:
    hub = Hub(make_config(tmp_path))
    await hub.async_start()
    try:
        events: list[Event] = []
        hub.bus.async_listen(EVENT_DEVICE_REGISTRY_UPDATED, events.append)
        row = await hub.devices.async_get_or_create(INFO)
        await hub.devices.async_set_extra(row.id, "other", "note")
        again = await hub.devices.async_get_or_create(
            DeviceInfo(
                identifiers=(("test", "plug-1"), ("test", "plug-1b")),
                sw_version="2.1",
                extra={"acme": {"paired": False}},
            )
        )
        same = await hub.devices.async_get_or_create(DeviceInfo(identifiers=(("test", "plug-1"),)))
        assert again.id == same.id == row.id
        assert row.identifiers == [["test", "plug-1"], ["test", "plug-1b"]]
        assert (row.sw_version, row.name, row.serial_number) == ("2.1", "Plug", "SN-42")
        assert row.extra == {"acme": {"paired": False}, "other": "note"}
        assert [e.data["action"] for e in events] == ["create", "update", "update"]
    finally:
        await hub.async_stop()
