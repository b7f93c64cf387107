"""Hub start/stop, registries persisted in JSON documents, integration loading and setup retry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.core.config_entries import EntryState
from hub.core.entity import DeviceInfo, Entity
from hub.core.hub import HubState
from hub.core.loader import INTEGRATIONS_DIR, available_domains, read_integration
from tests.hub.common import FAKE_SOURCE, make_config, running_hub


class Thermometer(Entity):
    domain = "sensor"

    def __init__(self, value: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.value = value

    def state_value(self) -> str | None:
        return self.value


def _device() -> DeviceInfo:
    return DeviceInfo(
        identifiers=(("test", "dev-1"),),
        connections=(("mac", "aa:bb"),),
        name="Kitchen sensor",
        manufacturer="Acme",
    )


async def test_devices_entities_and_entries_survive_a_restart(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    async with running_hub(config) as hub:
        entity_id = await hub.entity_table.async_add(
            Thermometer(
                "21.5",
                platform="test",
                unique_id="t1",
                name="Kitchen temperature",
                device_info=_device(),
            )
        )
        await hub.entity_table.async_rename(entity_id, "Cooking corner")
        entry = await hub.config_entries.async_add("test", "Test", {"k": "v"}, setup=False)
        assert hub.states.get(entity_id).state == "21.5"
        assert hub.states.get(entity_id).name == "Cooking corner"

    assert (tmp_path / "hub" / "storage" / "core.entity_registry.json").is_file()
    async with running_hub(config) as hub:
        row = hub.entities.get(entity_id)
        assert row is not None and row.name == "Cooking corner"
        device = hub.devices.get(row.device_id)
        assert device.name == "Kitchen sensor" and device.manufacturer == "Acme"
        assert hub.devices.find(connections=[("mac", "aa:bb")]) is device
        assert hub.config_entries.get(entry.entry_id).data == {"k": "v"}
        # Same unique id gets the same entity id back; a second one gets a free id.
        again = await hub.entity_table.async_add(
            Thermometer("22", platform="test", unique_id="t1", name="Kitchen temperature")
        )
        other = await hub.entity_table.async_add(
            Thermometer("5", platform="test", unique_id="t2", name="Kitchen temperature")
        )
        assert again == entity_id
        assert other == "sensor.kitchen_temperature_2"


async def test_removing_a_device_is_persisted(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    async with running_hub(config) as hub:
        await hub.entity_table.async_add(
            Thermometer("1", platform="test", unique_id="t1", name="T", device_info=_device())
        )
        device_id = hub.devices.async_all()[0].id
        await hub.devices.async_remove(device_id)
    async with running_hub(config) as hub:
        assert hub.devices.get(device_id) is None


async def test_entities_added_at_once_are_all_persisted_and_later_writes_win(
    tmp_path: Path,
) -> None:
    """Many registry writes in flight together share transactions; none is lost or reordered."""
    config = make_config(tmp_path)
    async with running_hub(config) as hub:

        def thermometer(n: int) -> Thermometer:
            device = DeviceInfo(identifiers=(("test", f"dev-{n // 4}"),), name=f"Room {n // 4}")
            return Thermometer(
                str(n), platform="test", unique_id=f"t{n}", name=f"T {n}", device_info=device
            )

        ids = await asyncio.gather(
            *(hub.entity_table.async_add(thermometer(n)) for n in range(200))
        )
        # In one batch: a rename then a removal of the same entity, and two renames in a row.
        await asyncio.gather(
            hub.entity_table.async_rename(ids[0], "Renamed then forgotten"),
            hub.entity_table.async_remove(ids[0], forget=True),
            hub.entity_table.async_rename(ids[1], "First name"),
            hub.entity_table.async_rename(ids[1], "Last name"),
        )

    async with running_hub(config) as hub:
        assert hub.entities.get(ids[0]) is None
        assert hub.entities.get(ids[1]).name == "Last name"
        assert {row.entity_id for row in hub.entities.async_all()} == set(ids[1:])
        assert len(hub.devices.async_all()) == 50
        row = hub.entities.get(ids[199])
        assert hub.devices.get(row.device_id).name == "Room 49"


async def test_integrations_load_in_dependency_order_and_bad_ones_are_reported(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path, integrations=None, integration_sources=(FAKE_SOURCE,))
    async with running_hub(config) as hub:
        assert hub.data["needs_flaky"] == ["flaky"]
        assert set(hub.loaded_integrations) == {"flaky", "needs_flaky"}
        assert "domain must equal the folder name" in hub.integration_errors["wrong_domain"]
        assert "ethos-no-such-package" in hub.integration_errors["needs_missing_pkg"]


async def test_setup_is_retried_with_backoff_until_it_works(tmp_path: Path) -> None:
    config = make_config(tmp_path, integrations=("flaky",), integration_sources=(FAKE_SOURCE,))
    async with running_hub(config) as hub:
        hub.config_entries.retry_first_delay = 0.02
        entry = await hub.config_entries.async_add("flaky", "Flaky", {"fail_times": 2})
        assert entry.state is EntryState.SETUP_RETRY
        assert entry.reason == "attempt 1 refused"
        for _ in range(100):
            if entry.state is EntryState.LOADED:
                break
            await asyncio.sleep(0.01)
        assert entry.state is EntryState.LOADED
        assert hub.data["flaky"]["attempts"] == 3
    # Clean shutdown unloaded the entry and ran its unload callbacks.
    assert hub.state is HubState.NOT_RUNNING
    assert hub.data["flaky"]["unloaded"] == 1
    assert entry.state is EntryState.NOT_LOADED


async def test_a_crashing_setup_is_an_error_not_a_crash(tmp_path: Path) -> None:
    config = make_config(tmp_path, integrations=("flaky",), integration_sources=(FAKE_SOURCE,))
    async with running_hub(config) as hub:
        entry = await hub.config_entries.async_add("flaky", "Broken", {"crash": True})
        assert entry.state is EntryState.SETUP_ERROR
        assert entry.reason == "broken integration"
        assert hub.state is HubState.RUNNING


def test_shipped_integrations_have_valid_manifests() -> None:
    domains = available_domains(INTEGRATIONS_DIR)
    assert "mqtt" in domains
    for domain in domains:
        integration = read_integration(domain)
        assert integration.domain == domain
    mqtt = read_integration("mqtt")
    assert mqtt.missing_requirements() == []
    assert mqtt.manifest.iot_class == "local_push"


async def test_history_is_recorded_queried_and_purged(tmp_path: Path) -> None:
    config = make_config(tmp_path, history_retention=timedelta(days=10))
    async with running_hub(config) as hub:
        start = datetime.now(UTC)
        for value in ("1", "2", "2", "3"):
            hub.states.async_set("sensor.x", value)
        hub.states.async_set("sensor.y", "9")
        rows = await hub.recorder.async_history("sensor.x", start - timedelta(seconds=1))
        assert [state for _, state in rows] == ["1", "2", "3"]
        assert all(t.tzinfo is UTC for t, _ in rows)
        assert await hub.recorder.async_purge(datetime.now(UTC) + timedelta(days=9)) == 0
        assert await hub.recorder.async_purge(datetime.now(UTC) + timedelta(days=11)) == 4
        assert await hub.recorder.async_history("sensor.x", start) == []
