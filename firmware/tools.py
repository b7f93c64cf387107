"""Provisioning and flashing a real ESP32: config.json + files via mpremote, image via esptool.

Not run in CI (there is no board); ``--dry-run`` prints the exact commands instead, and the
config.json they would write is built and validated the same way either way.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from firmware.simulator.firmware_path import ensure_firmware_importable, firmware_files

_LOGGER = logging.getLogger(__name__)
MICROPYTHON_OFFSET = "0x1000"


class ToolError(RuntimeError):
    """A provisioning step cannot run; the message says why."""


def build_device_config(args: argparse.Namespace) -> dict[str, Any]:
    """The config.json for the board, checked by the firmware's own loader."""
    from firmware.simulator.runner import SimulatorError, broker_settings

    ensure_firmware_importable()
    import device_config

    if not args.serial or not args.claim_secret:
        raise ToolError("--serial and --claim-secret are needed")
    config = device_config.default_config()
    config["serial"] = args.serial
    config["claim_secret"] = args.claim_secret.strip().lower()
    config["wifi"] = {"ssid": args.wifi_ssid, "password": args.wifi_password}
    try:
        config["mqtt"] = broker_settings(args.broker)
    except SimulatorError as err:
        raise ToolError(str(err)) from err
    _checked, problems = device_config.load_config(json.dumps(config))
    if problems:
        raise ToolError("; ".join(problems))
    if not args.wifi_ssid:
        _LOGGER.warning("no WiFi SSID given: the device will stay offline")
    return config


def _tool(name: str) -> list[str]:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found:
        return [found]
    return [sys.executable, "-m", name]


def provision_commands(port: str, config_path: Path) -> list[list[str]]:
    mpremote = [*_tool("mpremote"), "connect", port]
    commands = [[*mpremote, "fs", "cp", str(path), f":{path.name}"] for path in firmware_files()]
    commands.append([*mpremote, "fs", "cp", str(config_path), ":config.json"])
    commands.append([*mpremote, "reset"])
    return commands


def flash_commands(port: str, image: str, baud: int) -> list[list[str]]:
    esptool = [*_tool("esptool"), "--chip", "esp32", "--port", port, "--baud", str(baud)]
    return [
        [*esptool, "erase_flash"],
        [*esptool, "write_flash", "-z", MICROPYTHON_OFFSET, image],
    ]


def _run(commands: list[list[str]], dry_run: bool, secret_words: tuple[str, ...] = ()) -> int:
    for command in commands:
        shown = " ".join(shlex.quote(part) for part in command)
        for word in secret_words:
            if word:
                shown = shown.replace(word, "***")
        if dry_run:
            print(shown)
            continue
        _LOGGER.info("running %s", shown)
        try:
            completed = subprocess.run(command, check=False)  # noqa: S603 (fixed argv, no shell)
        except FileNotFoundError as err:
            raise ToolError(f"{command[0]} not found: pip install 'ethos[firmware]'") from err
        if completed.returncode:
            raise ToolError(f"{shown} exited with {completed.returncode}")
    return 0


def provision(args: argparse.Namespace) -> int:
    config = build_device_config(args)
    with tempfile.TemporaryDirectory() as folder:
        config_path = Path(folder) / "config.json"
        config_path.write_text(json.dumps(config, indent=1))
        config_path.chmod(0o600)
        return _run(provision_commands(args.port, config_path), args.dry_run)


def flash(args: argparse.Namespace) -> int:
    if not args.dry_run and not Path(args.image).is_file():
        raise ToolError(f"image {args.image} not found")
    return _run(flash_commands(args.port, args.image, args.baud), args.dry_run)
