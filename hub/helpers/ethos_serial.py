"""Ethos serial numbers: what a valid one looks like and how a device's identifiers name it.

A serial names MQTT topics (``ethos/<serial>/...``), so it is checked before it is used:
one letter or digit, then up to 39 letters, digits, ``-`` or ``_`` (no ``/``, ``+``, ``#``).
MQTT discovery stores the device's ``ethos:<serial>`` identifier as ``("mqtt", "ethos:<serial>")``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

SERIAL_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
IDENTIFIER_PREFIX: Final = "ethos:"


def valid_serial(serial: object) -> bool:
    return isinstance(serial, str) and SERIAL_PATTERN.match(serial) is not None


def serial_from_identifier(identifier: object) -> str | None:
    """``EPD-000123`` from ``ethos:EPD-000123``; None when it is not a valid Ethos identifier."""
    if not isinstance(identifier, str) or not identifier.startswith(IDENTIFIER_PREFIX):
        return None
    serial = identifier[len(IDENTIFIER_PREFIX) :]
    return serial if valid_serial(serial) else None


def serial_of(identifiers: Iterable[Sequence[str]]) -> str | None:
    """The first valid serial among a registry device's (domain, identifier) pairs."""
    for pair in identifiers:
        serial = serial_from_identifier(pair[-1]) if pair else None
        if serial is not None:
            return serial
    return None
