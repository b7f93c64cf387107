"""Keys and limits of the BTHome integration (parser and entities)."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "bthome"
# Devices and entities keep the ids they had when BTHome was part of the bluetooth
# integration: registries already hold them under this domain.
IDENTITY_DOMAIN: Final = "bluetooth"

# BTHome v2 service data UUID 0xFCD2, as bleak reports it (128-bit form), and as sent on air.
BTHOME_UUID: Final = "0000fcd2-0000-1000-8000-00805f9b34fb"
BTHOME_UUID_ON_AIR: Final = b"\xd2\xfc"
BTHOME_VERSION: Final = 2  # bits 5-7 of the device-info byte
BTHOME_FLAG_ENCRYPTED: Final = 0x01
BTHOME_FLAG_MAC_INCLUDED: Final = 0x02
BTHOME_OBJECT_PACKET_ID: Final = 0x00
# The library accepts a repeated packet id once this long has passed (the device may have
# restarted); within the window a repeat is the same reading sent again.
DUPLICATE_WINDOW_S: Final = 4.0

MAX_SERVICE_DATA_BYTES: Final = 255
LIBRARY_LOGGER: Final = "bthome_ble.parser"  # filters do not apply to child loggers
LIBRARY_LOG_INTERVAL_S: Final = 60.0
