"""BLE RSSI distance and target matching; the BTHome advertisement read by bthome-ble."""

from __future__ import annotations

import ble_presence
import bthome_adv
import pytest
from bleak.backends.device import BLEDevice
from bthome_ble import BTHomeBluetoothDeviceData
from habluetooth import BluetoothServiceInfoBleak

from firmware.simulator.scenarios import ibeacon_advertisement

BTHOME_UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"
IBEACON_UUID = "e2c56db5dffb48d2b060d0f5a71096e0"


def named_adv(name: str) -> bytes:
    return b"\x02\x01\x06" + bytes((len(name) + 1, 0x09)) + name.encode()


def test_distance_formula_matches_the_reference_points() -> None:
    assert ble_presence.rssi_to_distance(-65, -65, 2.7) == pytest.approx(1.0)
    assert ble_presence.rssi_to_distance(-92, -65, 2.7) == pytest.approx(10.0)


def test_median_drops_outliers_beyond_one_and_a_half_iqr() -> None:
    samples = [-70, -71, -69, -70, -72, -20, -71, -110]
    assert ble_presence.robust_median(samples) == -70.5
    assert ble_presence.robust_median([]) is None


def test_ibeacon_and_names_are_parsed_and_malformed_data_is_survived() -> None:
    name, beacon = ble_presence.parse_advertisement(ibeacon_advertisement(IBEACON_UUID, -59))
    assert name is None and beacon == (IBEACON_UUID, 1, 2, -59)
    assert ble_presence.parse_advertisement(named_adv("Pixel"))[0] == "Pixel"
    assert ble_presence.parse_advertisement(b"\x05\x09ab") == (None, None)  # length overruns
    assert ble_presence.parse_advertisement(b"\x03\x09\xff\xfe") == (None, None)


def test_tracker_estimates_distance_of_configured_targets_within_the_window() -> None:
    tracker = ble_presence.BeaconTracker(
        [{"uuid": IBEACON_UUID.upper(), "label": "keys"}, {"name": "Pixel", "rssi_at_1m": -60}],
        absorption=2.0,
        window_ms=5000,
    )
    for now, rssi in enumerate([-59, -60, -58, -59, -30]):
        assert tracker.observe(rssi, ibeacon_advertisement(IBEACON_UUID, -59), now * 100) == "keys"
    assert tracker.observe(-80, named_adv("Stranger"), 0) is None
    for now in range(5):
        tracker.observe(-80, named_adv("Pixel"), now * 100)
    label, metres = tracker.nearest(500)
    assert label == "keys" and metres == pytest.approx(1.0)  # the -30 spike is an outlier
    assert tracker.nearest(60000) is None


@pytest.mark.parametrize("occupied", [True, False])
def test_bthome_advertisement_is_read_by_bthome_ble(occupied: bool) -> None:
    payload = bthome_adv.encode_advertisement(occupied, 7, "ethos-EPD-000123")
    assert len(payload) <= bthome_adv.LEGACY_LIMIT
    service_data = _service_data(payload)
    address = "AA:BB:CC:DD:EE:FF"
    info = BluetoothServiceInfoBleak(
        name="ethos-EPD-000123",
        address=address,
        rssi=-60,
        manufacturer_data={},
        service_data={BTHOME_UUID: service_data},
        service_uuids=[BTHOME_UUID],
        source="local",
        device=BLEDevice(address, "ethos-EPD-000123", None),
        advertisement=None,
        connectable=False,
        time=0.0,
        tx_power=None,
        raw=payload,
    )
    update = BTHomeBluetoothDeviceData().update(info)
    values = {key.key: value.native_value for key, value in update.binary_entity_values.items()}
    assert values == {"occupancy": occupied}


def test_long_names_are_shortened_to_fit_31_bytes() -> None:
    payload = bthome_adv.encode_advertisement(True, 1, "ethos-a-very-long-device-name-indeed")
    assert len(payload) == bthome_adv.LEGACY_LIMIT
    assert payload[4] == bthome_adv.AD_SHORT_NAME
    assert _service_data(payload) == b"\x40\x00\x01\x23\x01"


def _service_data(payload: bytes) -> bytes:
    i = 0
    while i < len(payload):
        length, kind = payload[i], payload[i + 1]
        if kind == 0x16 and payload[i + 2 : i + 4] == b"\xd2\xfc":
            return payload[i + 4 : i + 1 + length]
        i += 1 + length
    raise AssertionError("no BTHome service data")
