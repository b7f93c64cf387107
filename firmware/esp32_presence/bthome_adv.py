"""BTHome v2 advertisement (unencrypted) carrying occupancy, within 31 legacy bytes.

Layout: flags AD ``02 01 06``, optional local name AD, then service data AD ``0x16`` with
UUID 0xFCD2 (``D2 FC``), device-info byte 0x40 (v2, plain), object 0x00 packet id and
object 0x23 occupancy, in ascending id order.
"""

LEGACY_LIMIT = 31
FLAGS = b"\x02\x01\x06"
SERVICE_DATA = 0x16
UUID_BTHOME = b"\xd2\xfc"
DEVICE_INFO_V2_PLAIN = 0x40
OBJ_PACKET_ID = 0x00
OBJ_OCCUPANCY = 0x23
AD_SHORT_NAME = 0x08
AD_COMPLETE_NAME = 0x09


def service_data(occupied: bool, packet_id: int) -> bytes:
    body = UUID_BTHOME + bytes(
        (DEVICE_INFO_V2_PLAIN, OBJ_PACKET_ID, packet_id & 0xFF, OBJ_OCCUPANCY, 1 if occupied else 0)
    )
    return bytes((len(body) + 1, SERVICE_DATA)) + body


def encode_advertisement(occupied: bool, packet_id: int, name: str | None = None) -> bytes:
    """The raw advertising payload; a name that does not fit is shortened."""
    data = service_data(occupied, packet_id)
    if not name:
        return FLAGS + data
    room = LEGACY_LIMIT - len(FLAGS) - len(data) - 2
    encoded = name.encode()
    ad_type = AD_COMPLETE_NAME
    if len(encoded) > room:
        encoded = encoded[:room]
        ad_type = AD_SHORT_NAME
    return FLAGS + bytes((len(encoded) + 1, ad_type)) + encoded + data
