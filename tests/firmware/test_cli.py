"""The command line: `ethos device simulate` as the demo runs it, and the firmware tools."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import pytest

from tests.firmware.mqtt_support import (
    SECRET_HEX,
    ethos,
    finish,
    observe,
    simulate,
)
from tests.support.processes import ROOT


def ethos_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ethos.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def serial(unique_id: str) -> str:
    return f"EPD-C{unique_id}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_simulate_runs_against_the_broker_and_stops_cleanly(
    mqtt_broker_url, serial, cleanup, sig
) -> None:
    async with observe(
        mqtt_broker_url, f"ethos/{serial}/#", f"homeassistant/+/{serial}/+/config"
    ) as hub:
        process = simulate(serial, mqtt_broker_url)
        try:
            await hub.wait_for(f"ethos/{serial}/status", b"online", timeout=20)
            await hub.wait_for(f"homeassistant/binary_sensor/{serial}/occupancy/config")
            await hub.wait_for(f"ethos/{serial}/occupancy", b"OFF")
        finally:
            code, log = await finish(process, sig)
        await hub.wait_for(f"ethos/{serial}/status", b"offline")
    assert code == 0, log
    assert "scenario someone: room empty" in log
    assert "stopped" in log and "Traceback" not in log
    assert SECRET_HEX not in log


async def test_a_killed_simulator_is_reported_offline_by_its_last_will(
    mqtt_broker_url, serial, cleanup
) -> None:
    async with observe(mqtt_broker_url, f"ethos/{serial}/status") as hub:
        process = simulate(serial, mqtt_broker_url)
        try:
            await hub.wait_for(f"ethos/{serial}/status", b"online", timeout=20)
        finally:
            await finish(process, signal.SIGKILL)
        await hub.wait_for(f"ethos/{serial}/status", b"offline", timeout=20)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--serial", "EPD-1", "--claim-secret", "abc"], "64 hex digits"),
        (["--serial", "bad serial", "--claim-secret", SECRET_HEX], "serial must be"),
        (
            ["--serial", "EPD-000123", "--claim-secret", SECRET_HEX, "--broker", "http://x"],
            "mqtt://",
        ),
        (["--claim-secret", SECRET_HEX], "--serial and --claim-secret"),
    ],
)
def test_simulate_refuses_bad_arguments_with_a_clear_message(args, message) -> None:
    env_free = {k: v for k, v in os.environ.items() if not k.startswith("ETHOS_")}
    completed = subprocess.run(
        [sys.executable, "-m", "ethos.cli", "device", "simulate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env_free,
        check=False,
    )
    assert completed.returncode == 2
    assert message in completed.stderr and "Traceback" not in completed.stderr


def test_provision_dry_run_copies_every_firmware_file_and_the_config() -> None:
    completed = ethos_run(
        "firmware", "provision", "--port", "/dev/ttyUSB0", "--serial", "EPD-000123",
        "--claim-secret", SECRET_HEX, "--wifi-ssid", "home", "--wifi-password", "hunter22",
        "--broker", "mqtt://192.168.1.5:1883", "--dry-run",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    copied = {line.rsplit(" ", 1)[-1] for line in lines if " fs cp " in line}
    assert {":ld2410.py", ":main.py", ":board.py", ":presence_app.py", ":config.json"} <= copied
    assert all("connect /dev/ttyUSB0" in line for line in lines)
    assert lines[-1].endswith("reset")
    assert SECRET_HEX not in completed.stdout + completed.stderr
    assert "hunter22" not in completed.stdout + completed.stderr


def test_provision_refuses_a_bad_claim_secret() -> None:
    completed = ethos_run(
        "firmware", "provision", "--port", "/dev/ttyUSB0", "--serial", "EPD-000123",
        "--claim-secret", "nothex", "--dry-run",
    )  # fmt: skip
    assert completed.returncode == 2
    assert "claim secret" in completed.stderr


def test_flash_dry_run_erases_then_writes_the_image_at_0x1000() -> None:
    completed = ethos_run(
        "firmware", "flash", "--port", "/dev/ttyUSB0", "--image", "ESP32_GENERIC.bin", "--dry-run"
    )
    assert completed.returncode == 0, completed.stderr
    erase, write = completed.stdout.splitlines()
    assert "--chip esp32 --port /dev/ttyUSB0" in erase and erase.endswith("erase_flash")
    assert write.endswith("write_flash -z 0x1000 ESP32_GENERIC.bin")


def test_help_names_the_environment_variables() -> None:
    simulate_help = ethos_run("device", "simulate", "--help").stdout
    provision_help = ethos_run("firmware", "provision", "--help").stdout
    assert "ETHOS_CLAIM_SECRET" in simulate_help and "MQTT_URL" in simulate_help
    assert "ETHOS_WIFI_PASSWORD" in provision_help


async def test_settings_survive_a_restart_with_a_config_file(
    mqtt_broker_url, serial, cleanup, tmp_path
) -> None:
    config_file = tmp_path / "config.json"
    args = ["device", "simulate", "--serial", serial, "--claim-secret", SECRET_HEX]
    args += ["--broker", mqtt_broker_url, "--config-file", str(config_file)]
    async with observe(mqtt_broker_url, f"ethos/{serial}/#") as hub:
        process = ethos(*args)
        try:
            await hub.wait_for(f"ethos/{serial}/hold_time", b"15", timeout=20)
            await hub.publish(f"ethos/{serial}/set/hold_time", "120")
            await hub.wait_for(f"ethos/{serial}/hold_time", b"120")
        finally:
            await finish(process, signal.SIGTERM)
        mark = len(hub.messages)
        process = ethos(*args)
        try:
            await hub.wait_for(f"ethos/{serial}/status", b"online", timeout=20, after=mark)
            await hub.wait_for(f"ethos/{serial}/hold_time", b"120", after=mark)
        finally:
            code, log = await finish(process, signal.SIGTERM)
    assert code == 0, log
    saved = json.loads(await asyncio.to_thread(config_file.read_text))
    assert saved["settings"]["hold_time"] == 120 and saved["serial"] == serial


def test_the_cli_offers_exactly_the_simulator_scenarios() -> None:
    from firmware import cli
    from firmware.simulator.scenarios import SCENARIOS

    assert set(cli.SCENARIO_NAMES) == set(SCENARIOS)
