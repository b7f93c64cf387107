"""No adapter (for real: bleak on this machine finds none), adapter errors, the watchdog."""

from __future__ import annotations

import json
import logging
import textwrap

import pytest

from hub.core.config_entries import EntryState
from hub.core.hub import HubState
from hub.integrations.bluetooth import SCANNER_FACTORY
from hub.integrations.bluetooth.adapters import missing_adapter
from hub.integrations.bluetooth.scanner import BleakAdvertisementScanner
from tests.hub.bluetooth.advertisements import SPEC_EXAMPLE, bthome, ethos_presence
from tests.hub.bluetooth.bleak_backend import ActiveOnlyBackend
from tests.hub.bluetooth.conftest import ReplayScanner, feed, manager, scanner
from tests.support.processes import run_python_code
from tests.support.waiting import wait_until

ADDRESS = "A4:C1:38:12:34:56"


async def test_without_an_adapter_the_entry_retries_and_the_hub_runs_on(
    start_hub, mqtt_broker_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        # The real bleak scanner: this machine has no Bluetooth adapter (nor BlueZ).
        hub = await start_hub(
            integrations=("bluetooth", "bthome", "mqtt"),
            mqtt_url=mqtt_broker_url,
            scanner_factory=BleakAdvertisementScanner,
        )
    entry = hub.config_entries.async_entries("bluetooth")[0]

    assert entry.state is EntryState.SETUP_RETRY
    assert entry.reason.startswith("Bluetooth unavailable on the default adapter: ")
    assert "Setup of bluetooth (Bluetooth) not ready: Bluetooth unavailable" in caplog.text
    assert hub.state is HubState.RUNNING
    assert hub.config_entries.async_entries("mqtt")[0].state is EntryState.LOADED
    await wait_until(lambda: entry.retries >= 2)  # retried, and still refused
    assert entry.state is EntryState.SETUP_RETRY

    # An adapter appears: the next retry loads the entry and advertisements flow.
    hub.data[SCANNER_FACTORY] = ReplayScanner
    await wait_until(lambda: entry.state is EntryState.LOADED)
    await feed(hub, SPEC_EXAMPLE, ADDRESS)
    assert hub.states.get("sensor.diy_sensor_3456_temperature").state == "25.0"


WITHOUT_ADAPTER = textwrap.dedent(
    """
    import asyncio, json, sys, tempfile
    from pathlib import Path
    from hub.core.config import HubConfig
    from hub.core.hub import Hub

    async def main():
        with tempfile.TemporaryDirectory() as folder:
            hub = Hub(HubConfig(data_dir=Path(folder), integrations=("bluetooth", "bthome")))
            await hub.async_start()
            [entry] = hub.config_entries.async_entries("bluetooth")
            loaded = sorted({m.split(".")[0] for m in sys.modules} & {"bleak", "dbus_fast",
                             "habluetooth", "bthome_ble", "cryptography"})
            print(json.dumps({"state": entry.state, "reason": entry.reason, "loaded": loaded}))
            await hub.async_stop()

    asyncio.run(main())
    """
)


@pytest.mark.skipif(missing_adapter(None) is None, reason="this machine has a Bluetooth adapter")
def test_without_an_adapter_no_bluetooth_stack_is_loaded() -> None:
    ran = run_python_code(WITHOUT_ADAPTER)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["state"] == "setup_retry"
    assert result["reason"].startswith(
        "Bluetooth unavailable on the default adapter: no such adapter on this machine"
    )
    assert result["loaded"] == []


async def test_the_bleak_scanner_refuses_with_the_adapter_and_the_reason() -> None:
    heard: list[object] = []
    bleak_scanner = BleakAdvertisementScanner(
        lambda device, advertisement: heard.append(device), "hci7"
    )
    with pytest.raises(Exception, match=r"^Bluetooth unavailable on adapter hci7: "):
        await bleak_scanner.async_start()
    assert bleak_scanner.mode == "stopped"
    await bleak_scanner.async_stop()  # stopping what never started is harmless


async def test_a_silent_scanner_is_restarted_by_the_watchdog(
    start_hub, caplog: pytest.LogCaptureFixture
) -> None:
    hub = await start_hub(entry_data={"silent_after": 0.2})
    replay = scanner(hub)
    assert replay.starts == 1
    with caplog.at_level(logging.WARNING):
        await wait_until(lambda: replay.starts == 2)
    assert replay.stops == 1
    assert "Bluetooth scanner heard nothing for" in caplog.text
    await feed(hub, SPEC_EXAMPLE, ADDRESS)
    assert hub.states.get("sensor.diy_sensor_3456_humidity").state == "50.55"


async def test_a_failed_restart_is_tried_again_on_the_next_round(
    start_hub, caplog: pytest.LogCaptureFixture
) -> None:
    hub = await start_hub(entry_data={"silent_after": 0.2})
    replay = scanner(hub)
    replay.refuse_starts = 1
    with caplog.at_level(logging.ERROR):
        await wait_until(lambda: replay.starts == 2)
    assert manager(hub).restarts == 2
    assert "Restarting the Bluetooth scanner failed: Bluetooth unavailable on hci9" in caplog.text
    entry = hub.config_entries.async_entries("bluetooth")[0]
    assert entry.state is EntryState.LOADED


async def test_a_device_unheard_for_too_long_becomes_unavailable_unless_sleepy(start_hub) -> None:
    hub = await start_hub(entry_data={"stale_after": 0.2, "silent_after": 600})
    address = "24:0A:C4:5E:E0:42"
    entity_id = "binary_sensor.ethos_epd_000123_e042_occupancy"
    await feed(hub, ethos_presence(True, packet_id=1), address)
    # A trigger-based ("sleepy", device info 0x44) door sensor only speaks on events.
    await feed(hub, bthome(b"\x1a\x01", "Door", device_info=0x44), "C0:FF:EE:00:00:09")
    assert hub.states.get(entity_id).state == "on"
    await wait_until(lambda: hub.states.get(entity_id).state == "unavailable")
    assert hub.states.get("binary_sensor.door_0009_door").state == "on"
    await feed(hub, ethos_presence(True, packet_id=2), address)
    assert hub.states.get(entity_id).state == "on"


async def test_without_passive_support_it_scans_actively_and_says_so(
    start_hub, caplog: pytest.LogCaptureFixture
) -> None:
    def active_only(callback, adapter):  # type: ignore[no-untyped-def]
        return BleakAdvertisementScanner(callback, adapter, backend=ActiveOnlyBackend)

    with caplog.at_level(logging.WARNING):
        hub = await start_hub(scanner_factory=active_only, bluetooth_adapter="hci1")
    assert manager(hub).scanner.mode == "active"
    assert "Passive Bluetooth scanning is not available on adapter hci1" in caplog.text
    assert "requires BlueZ >= 5.56" in caplog.text
    [backend] = ActiveOnlyBackend.started
    (passive, passive_args), (active, active_args) = ActiveOnlyBackend.attempts[-2:]
    assert (passive, active) == ("passive", "active")
    # Passive on BlueZ: a monitor pattern on the BTHome service data UUID as sent on air.
    [pattern] = passive_args["or_patterns"]
    assert (pattern.ad_data_type, pattern.content_of_pattern) == (0x16, b"\xd2\xfc")
    assert active_args == {"adapter": "hci1"}
    # Bytes from the air through bleak's own callback dispatch into the hub.
    backend.receive(SPEC_EXAMPLE, ADDRESS)
    await manager(hub).async_wait_idle()
    assert hub.states.get("sensor.diy_sensor_3456_temperature").state == "25.0"
    await hub.async_stop()
    assert ActiveOnlyBackend.started == []
