"""A bleak scanner backend for a machine without BlueZ: the platform part, and only that.

It refuses passive mode the way BlueZ without advertisement monitors does and delivers
raw advertisement bytes through bleak's own device table and callback dispatch.
"""

from __future__ import annotations

from typing import Any, ClassVar

from bleak.backends.scanner import AdvertisementDataCallback, BaseBleakScanner
from bleak.exc import BleakError

from tests.hub.bluetooth.advertisements import to_bleak


class ActiveOnlyBackend(BaseBleakScanner):
    started: ClassVar[list[ActiveOnlyBackend]] = []
    attempts: ClassVar[list[tuple[str, dict]]] = []  # (scanning mode, BlueZ arguments)

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self.scanning_mode = scanning_mode
        self.bluez = kwargs.get("bluez", {})

    async def start(self) -> None:
        ActiveOnlyBackend.attempts.append((self.scanning_mode, dict(self.bluez)))
        if self.scanning_mode == "passive":
            raise BleakError("passive scanning on Linux requires BlueZ >= 5.56 with --experimental")
        self.seen_devices = {}
        ActiveOnlyBackend.started.append(self)

    async def stop(self) -> None:
        ActiveOnlyBackend.started.remove(self)

    def receive(self, raw: bytes, address: str, rssi: int = -60) -> None:
        """An advertisement from the air, as the platform layer reports it."""
        device, advertisement = to_bleak(raw, address, rssi)
        device = self.create_or_update_device(address, address, device.name, None, advertisement)
        self.call_detection_callbacks(device, advertisement)
