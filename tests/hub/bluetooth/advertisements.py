"""Raw BLE advertisement bytes (layout of PROTOCOLS.md) and their bleak form.

Bytes are parsed by ``bluetooth-data-tools`` (the AD-structure parser Home Assistant uses
for raw advertisements) into bleak's ``AdvertisementData``/``BLEDevice``, which is what
bleak hands the integration's callback on a real adapter.
"""

from __future__ import annotations

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bluetooth_data_tools import parse_advertisement_data_bytes

FLAGS = bytes.fromhex("020106")
# The BTHome v2 spec example: "DIY-sensor", 25.00 °C, 50.55 %.
SPEC_EXAMPLE = bytes.fromhex("0201060B094449592D73656E736F720A16D2FC4002C40903BF13")
DEVICE_INFO_V2_PLAIN = 0x40


def ad(ad_type: int, body: bytes) -> bytes:
    return bytes((len(body) + 1, ad_type)) + body


def bthome(
    objects: bytes, name: str | None = None, device_info: int = DEVICE_INFO_V2_PLAIN
) -> bytes:
    """Flags, optional complete local name, BTHome service data with ``objects``."""
    name_ad = ad(0x09, name.encode()) if name else b""
    return FLAGS + name_ad + ad(0x16, b"\xd2\xfc" + bytes((device_info,)) + objects)


def ethos_presence(occupied: bool, packet_id: int, serial: str = "EPD-000123") -> bytes:
    """What the Ethos presence detector advertises: packet id then occupancy (0x23)."""
    return bthome(bytes((0x00, packet_id & 0xFF, 0x23, int(occupied))), f"ethos-{serial}")


def to_bleak(raw: bytes, address: str, rssi: int = -60) -> tuple[BLEDevice, AdvertisementData]:
    local_name, service_uuids, service_data, manufacturer_data, tx_power = (
        parse_advertisement_data_bytes(raw)
    )
    advertisement = AdvertisementData(
        local_name=local_name,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=tx_power,
        rssi=rssi,
        platform_data=(),
    )
    return BLEDevice(address, local_name, None), advertisement
