"""Stand-ins for the ESP32's hardware modules (machine, network, bluetooth, umqtt.simple), so
board.py and main.py run on CPython: the UART is the simulated LD2410, umqtt.simple is the
paho adapter talking to a real broker, and the rest records what the firmware asked for."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from typing import Any

import clock
import pytest

from firmware.simulator.paho_client import PahoMQTTClient
from firmware.simulator.radar import RadarTarget, SimulatedLD2410


@dataclass
class Board:
    """What the stand-in hardware sees and records; tests change ``target``/``pir``/``wifi_up``."""

    target: RadarTarget = field(default_factory=RadarTarget)
    pir: bool = False
    wifi_up: bool = True
    uart_args: dict[str, Any] = field(default_factory=dict)
    hostname: str | None = None
    wifi_connects: list[tuple[str, str]] = field(default_factory=list)
    watchdog_feeds: int = 0
    advertisements: list[bytes] = field(default_factory=list)
    scans: int = 0
    ble_irq: Any = None
    radar: SimulatedLD2410 | None = None


def install(monkeypatch: pytest.MonkeyPatch, board: Board) -> None:
    """Put the stand-in modules in sys.modules and forget any board/main imported before."""
    machine = types.ModuleType("machine")

    def uart(_bus: int, **kwargs: Any) -> SimulatedLD2410:
        board.uart_args = kwargs
        board.radar = SimulatedLD2410(lambda _now: board.target, clock.ticks_ms)
        return board.radar

    class Pin:
        IN = 1

        def __init__(self, number: int, mode: int) -> None:
            self.number = number

        def value(self) -> int:
            return int(board.pir)

    class WDT:
        def __init__(self, timeout: int) -> None:
            self.timeout = timeout

        def feed(self) -> None:
            board.watchdog_feeds += 1

    machine.UART = uart
    machine.Pin = Pin
    machine.WDT = WDT
    machine.unique_id = lambda: bytes.fromhex("a1b2c3d4e5f6")

    network = types.ModuleType("network")
    network.STA_IF = 0

    def hostname(name: str) -> None:
        board.hostname = name

    class WLAN:
        def __init__(self, interface: int) -> None:
            self.interface = interface

        def active(self, on: bool) -> None:
            pass

        def isconnected(self) -> bool:
            return board.wifi_up

        def connect(self, ssid: str, password: str) -> None:
            board.wifi_connects.append((ssid, password))

        def disconnect(self) -> None:
            pass

        def ifconfig(self) -> tuple[str, str, str, str]:
            return ("192.168.1.50", "255.255.255.0", "192.168.1.1", "192.168.1.1")

    network.hostname = hostname
    network.WLAN = WLAN

    bluetooth = types.ModuleType("bluetooth")

    class BLE:
        def active(self, on: bool) -> None:
            pass

        def irq(self, handler: Any) -> None:
            board.ble_irq = handler

        def gap_scan(self, duration_ms: int, interval_us: int, window_us: int, active: bool):
            board.scans += 1

        def gap_advertise(self, interval_us: int, adv_data: bytes) -> None:
            board.advertisements.append(bytes(adv_data))

    bluetooth.BLE = BLE

    umqtt = types.ModuleType("umqtt")
    umqtt_simple = types.ModuleType("umqtt.simple")
    umqtt_simple.MQTTClient = PahoMQTTClient
    umqtt.simple = umqtt_simple

    for name, module in (
        ("machine", machine),
        ("network", network),
        ("bluetooth", bluetooth),
        ("umqtt", umqtt),
        ("umqtt.simple", umqtt_simple),
    ):
        monkeypatch.setitem(sys.modules, name, module)
    for name in ("board", "main"):
        monkeypatch.delitem(sys.modules, name, raising=False)
