"""A discovered device's description reaches the registry whole (serial number included)."""

from __future__ import annotations

from hub.core.hub import Hub
from tests.hub.mqtt.conftest import runtime
from tests.hub.mqtt.device import FakeDevice
from tests.support.waiting import wait_until


async def test_every_described_field_of_a_discovered_device_is_kept(
    hub: Hub, device: FakeDevice, prefix: str
) -> None:
    config = {
        "dev": {
            "ids": "ethos:EPD-000777",
            "name": "Hall",
            "mf": "Ethos",
            "mdl": "EPD-1",
            "sn": "EPD-000777",
            "sw": "1.2.0",
            "hw": "rev B",
            "sa": "Hall",
            "cu": "http://epd-000777.local/",
        },
        "name": "Occupancy",
        "uniq_id": "EPD-000777_occ",
        "stat_t": f"{prefix}/ethos/EPD-000777/state",
    }
    await device.publish(f"{prefix}/binary_sensor/epd777/occ/config", config, retain=True)
    await wait_until(lambda: len(runtime(hub).discovery.discovered()) == 1)
    (row,) = [d for d in hub.devices.async_all() if ["mqtt", "ethos:EPD-000777"] in d.identifiers]
    assert row.serial_number == "EPD-000777"
    assert (row.name, row.manufacturer, row.model) == ("Hall", "Ethos", "EPD-1")
    assert (row.sw_version, row.hw_version) == ("1.2.0", "rev B")
    assert row.suggested_area == "Hall"
    assert row.configuration_url == "http://epd-000777.local/"
