"""board.py and main.py, the device-only modules, on CPython with stand-in hardware modules.

main.start() is the real entry point: it reads config.json from the working directory,
builds the board and runs the presence loop against a real broker until told to stop.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from firmware.simulator.radar import RadarTarget
from firmware.simulator.scenarios import SimulatedPhone
from tests.firmware.mqtt_support import SECRET_HEX, clear_retained, host_port, observe
from tests.firmware.stand_in_hardware import Board, install
from tests.support.waiting import wait_until


@pytest.fixture
def board(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Board:
    hardware = Board()
    install(monkeypatch, hardware)
    monkeypatch.chdir(tmp_path)
    return hardware


def write_config(path: Path, serial: str, broker: str, **extra) -> None:
    host, port = host_port(broker)
    config = {
        "serial": serial,
        "claim_secret": SECRET_HEX,
        "wifi": {"ssid": "home", "password": "pw"},
        "mqtt": {"host": host, "port": port},
        "pins": {"radar_tx": 17, "radar_rx": 16, "pir": 27, "led": 2},
        "ble": {"targets": [{"uuid": SimulatedPhone.UUID, "label": "keys"}]},
    }
    config.update(extra)
    path.write_text(json.dumps(config))


class Runner:
    """main.build_device() here, then main.run() in a thread until the test stops it."""

    def __init__(self) -> None:
        import main

        self.stop = threading.Event()
        self.device = main.build_device()
        self.error: BaseException | None = None

        def loop() -> None:
            try:
                main.run(self.device, should_stop=self.stop.is_set)
            except BaseException as err:
                self.error = err

        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(10)
        if self.error is not None:
            raise AssertionError("main.run crashed") from self.error


async def test_main_runs_the_device_on_the_board(board: Board, mqtt_broker_url, unique_id):
    serial = f"EPD-M{unique_id}"
    write_config(Path("config.json"), serial, mqtt_broker_url, settings={"on_latency": 0})
    async with observe(mqtt_broker_url, f"ethos/{serial}/#") as hub:
        runner = Runner()
        try:
            await hub.wait_for(f"ethos/{serial}/status", b"online")
            board.target = RadarTarget(1, 140, 85, 0, 0)
            await hub.wait_for(f"ethos/{serial}/occupancy", b"ON")
            for _ in range(5):  # a phone/beacon seen by the scanner, through the real IRQ path
                board.ble_irq(
                    5,
                    (0, memoryview(b"\x11" * 6), 0, -59, memoryview(SimulatedPhone.ADVERTISEMENT)),
                )
            await hub.wait_for(f"ethos/{serial}/ble_distance", b"1.0")
            await hub.publish(f"ethos/{serial}/set/hold_time", "90")
            await hub.wait_for(f"ethos/{serial}/hold_time", b"90")
        finally:
            runner.finish()
            await clear_retained(mqtt_broker_url, serial)
    assert board.uart_args == {"baudrate": 256000, "tx": 17, "rx": 16, "rxbuf": 512, "timeout": 0}
    assert board.hostname == f"ethos-{serial}"
    assert board.watchdog_feeds > 10 and board.scans >= 1
    assert board.radar.commands[0] == 0x00FF and board.radar.commands[-1] == 0x00FE
    # The BTHome advertisement followed occupancy: last one says occupied.
    assert board.advertisements[-1].endswith(b"\x23\x01")
    saved = json.loads(await asyncio.to_thread(Path("config.json").read_text))
    assert saved["settings"]["hold_time"] == 90 and saved["serial"] == serial


async def test_missing_config_runs_offline_on_defaults_and_says_so(board: Board, capsys):
    board.wifi_up = False
    runner = Runner()
    await wait_until(lambda: board.watchdog_feeds > 5)
    runner.finish()
    out = capsys.readouterr().out
    assert "config.json missing: using safe defaults" in out
    assert runner.device.serial == "EPD-A1B2C3D4E5F6"  # from machine.unique_id()
    assert not runner.device.link.connected and board.wifi_connects == []  # no SSID: no attempts


async def test_wifi_loss_drops_mqtt_and_it_comes_back_with_wifi(
    board: Board, mqtt_broker_url, unique_id
):
    serial = f"EPD-W{unique_id}"
    write_config(Path("config.json"), serial, mqtt_broker_url)
    async with observe(mqtt_broker_url, f"ethos/{serial}/status") as hub:
        runner = Runner()
        try:
            await hub.wait_for(f"ethos/{serial}/status", b"online")
            board.wifi_up = False
            await wait_until(lambda: not runner.device.link.connected)
            await asyncio.sleep(0.2)
            assert board.wifi_connects == [("home", "pw")]  # reconnecting, not rebooting
            board.wifi_up = True
            await wait_until(lambda: runner.device.link.connected, timeout=15)
            await hub.wait_for(f"ethos/{serial}/status", b"online", after=1)
        finally:
            runner.finish()
            await clear_retained(mqtt_broker_url, serial)
    assert runner.device.link.connections == 2


def test_flash_config_store_replaces_the_file_atomically(board: Board, tmp_path: Path):
    import board as board_module

    store = board_module.FlashConfigStore(str(tmp_path / "config.json"))
    assert store.read() is None
    store.save('{"serial": "EPD-1"}')
    assert store.read() == '{"serial": "EPD-1"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


async def test_the_broker_probe_has_a_timeout_and_guards_connect(board: Board, mqtt_broker_url):
    import board as board_module
    import main

    from tests.support.processes import free_port

    host, port = host_port(mqtt_broker_url)
    assert await asyncio.to_thread(board_module.broker_reachable, host, port)
    closed = free_port()
    assert not await asyncio.to_thread(board_module.broker_reachable, "127.0.0.1", closed, 1.0)
    # 192.0.2.0/24 is TEST-NET-1: nothing answers; the probe must end (timeout), not hang.
    assert not await asyncio.to_thread(board_module.broker_reachable, "192.0.2.1", 1883, 0.3)
    client = main.mqtt_factory("ethos-x", "127.0.0.1", closed, None, None, 30)
    with pytest.raises(OSError, match="not reachable"):
        await asyncio.to_thread(client.connect)
