"""BTHome advertisements (raw bytes) become sensors and binary sensors of devices."""

from __future__ import annotations

import struct

from firmware.simulator.firmware_path import ensure_firmware_importable
from hub.const import STATE_OFF, STATE_ON
from tests.hub.bluetooth.advertisements import FLAGS, SPEC_EXAMPLE, ad, bthome, ethos_presence
from tests.hub.bluetooth.conftest import feed, manager

DIY = "A4:C1:38:12:34:56"
ETHOS = "24:0A:C4:5E:E0:42"


async def test_spec_example_becomes_temperature_and_humidity_of_a_device(start_hub) -> None:
    hub = await start_hub()
    await feed(hub, SPEC_EXAMPLE, DIY)

    temperature = hub.states.get("sensor.diy_sensor_3456_temperature")
    humidity = hub.states.get("sensor.diy_sensor_3456_humidity")
    assert temperature.state == "25.0"
    assert temperature.attributes["unit_of_measurement"] == "°C"
    assert temperature.attributes["device_class"] == "temperature"
    assert humidity.state == "50.55"
    assert humidity.attributes["unit_of_measurement"] == "%"
    device = hub.devices.find(connections=[("bluetooth", DIY)])
    assert device is not None and device.name == "DIY-sensor 3456"
    assert device.model == "BTHome sensor"
    ids = {row.entity_id for row in hub.entities.entities_for_device(device.id)}
    assert ids == {temperature.entity_id, humidity.entity_id}


async def test_ethos_presence_occupancy_is_a_binary_sensor(start_hub) -> None:
    hub = await start_hub()
    await feed(hub, ethos_presence(True, packet_id=1), ETHOS)
    entity_id = "binary_sensor.ethos_epd_000123_e042_occupancy"
    state = hub.states.get(entity_id)
    assert state.state == STATE_ON
    assert state.attributes["device_class"] == "occupancy"

    await feed(hub, ethos_presence(False, packet_id=2), ETHOS)
    assert hub.states.get(entity_id).state == STATE_OFF


async def test_third_party_objects_battery_illuminance_voltage_door(start_hub) -> None:
    hub = await start_hub()
    objects = (
        bytes((0x00, 9, 0x01, 87))  # packet id, battery 87 %
        + b"\x05"
        + (123456).to_bytes(3, "little")  # 1234.56 lx
        + b"\x0c"
        + struct.pack("<H", 3012)  # 3.012 V
        + bytes((0x1A, 1))  # door open
    )
    await feed(hub, bthome(objects, "Hall"), "C0:FF:EE:00:00:07")
    states = {s.entity_id: s for s in hub.states.async_all()}
    assert states["sensor.hall_0007_battery"].state == "87"
    assert states["sensor.hall_0007_illuminance"].state == "1234.56"
    assert states["sensor.hall_0007_illuminance"].attributes["unit_of_measurement"] == "lx"
    assert states["sensor.hall_0007_voltage"].state == "3.012"
    assert states["binary_sensor.hall_0007_door"].state == STATE_ON


async def test_a_repeated_packet_id_is_dropped_and_a_new_one_is_taken(start_hub) -> None:
    hub = await start_hub()
    entity_id = "binary_sensor.ethos_epd_000123_e042_occupancy"
    await feed(hub, ethos_presence(True, packet_id=40), ETHOS)
    # Same packet id again, even with other content: a repeat, not news.
    await feed(hub, ethos_presence(False, packet_id=40), ETHOS)
    assert hub.states.get(entity_id).state == STATE_ON
    assert manager(hub).reader.counters.duplicates == 1

    await feed(hub, ethos_presence(False, packet_id=41), ETHOS)
    assert hub.states.get(entity_id).state == STATE_OFF
    # The same id from another device is that device's own packet.
    await feed(hub, ethos_presence(True, packet_id=41, serial="EPD-000999"), "24:0A:C4:5E:E0:43")
    assert hub.states.get("binary_sensor.ethos_epd_000999_e043_occupancy").state == STATE_ON
    assert manager(hub).reader.counters.duplicates == 1


async def test_packets_without_an_id_are_never_treated_as_repeats(start_hub) -> None:
    hub = await start_hub()
    for centi in (2000, 2100, 2000):
        await feed(hub, bthome(b"\x02" + struct.pack("<h", centi), "Attic"), DIY)
    assert hub.states.get("sensor.attic_3456_temperature").state == "20.0"
    assert manager(hub).reader.counters.duplicates == 0


async def test_entities_keep_their_ids_and_come_back_after_a_restart(start_hub) -> None:
    hub = await start_hub()
    await feed(hub, SPEC_EXAMPLE, DIY)
    await hub.entity_table.async_rename("sensor.diy_sensor_3456_temperature", "Greenhouse")
    await hub.async_stop()

    hub = await start_hub()
    await feed(hub, bthome(b"\x02" + struct.pack("<h", -550), "DIY-sensor"), DIY)
    state = hub.states.get("sensor.diy_sensor_3456_temperature")
    assert state.state == "-5.5"
    assert state.name == "Greenhouse"


async def test_the_presence_firmwares_own_advertisement_is_read(start_hub) -> None:
    """Bytes made by the firmware's encoder (firmware/esp32_presence/bthome_adv.py)."""
    ensure_firmware_importable()
    import bthome_adv

    hub = await start_hub()
    entity_id = "binary_sensor.ethos_epd_000123_e042_occupancy"
    for packet_id, occupied, expected in ((7, True, STATE_ON), (8, False, STATE_OFF)):
        raw = bthome_adv.encode_advertisement(occupied, packet_id, "ethos-EPD-000123")
        await feed(hub, raw, ETHOS)
        assert hub.states.get(entity_id).state == expected
    device = hub.devices.find(connections=[("bluetooth", ETHOS)])
    assert device.name == "ethos-EPD-000123 E042"


async def test_only_advertisements_a_manifest_matches_are_queued(start_hub) -> None:
    hub = await start_hub()
    bt = manager(hub)
    assert bt.wanted_service_data == {"0000fcd2-0000-1000-8000-00805f9b34fb"}
    battery_service = FLAGS + ad(0x16, b"\x0f\x18\x64")  # service data of UUID 0x180F
    apple_beacon = FLAGS + ad(0xFF, b"\x4c\x00\x02\x15")  # manufacturer data only
    for raw in (battery_service, apple_beacon):
        await feed(hub, raw, DIY)
    assert (bt.received, bt.ignored, bt.processed) == (2, 2, 0)
    await feed(hub, SPEC_EXAMPLE, DIY)
    assert (bt.received, bt.ignored, bt.processed) == (3, 2, 1)
    assert hub.states.get("sensor.diy_sensor_3456_temperature").state == "25.0"
