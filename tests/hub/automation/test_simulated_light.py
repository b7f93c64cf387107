"""``ethos device simulate --kind light``: a separate process the hub finds by MQTT
discovery and commands like any light; bad arguments are refused with a reason."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.simulator.firmware_path import ensure_firmware_importable
from tests.hub.common import make_config, running_hub

ensure_firmware_importable()

from tests.firmware.mqtt_support import clear_retained, ethos, finish  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402


async def test_the_simulated_light_is_discovered_and_obeys_the_hub(
    tmp_path: Path, mqtt_broker_url: str, unique_id: str
) -> None:
    prefix = f"ha_light_{unique_id}"
    base = f"sim_{unique_id}/lamp"
    process = ethos(
        "device", "simulate", "--kind", "light", "--broker", mqtt_broker_url,
        "--discovery-prefix", prefix, "--base", base, "--node-id", f"lamp_{unique_id}",
        "--name", "Desk lamp",
    )  # fmt: skip
    try:
        config = make_config(
            tmp_path, integrations=("mqtt",), mqtt_url=mqtt_broker_url, discovery_prefix=prefix
        )
        async with running_hub(config) as hub:

            def lamp() -> str | None:
                found = [s.entity_id for s in hub.states.async_all("light")]
                return found[0] if found else None

            await wait_until(
                lambda: lamp() is not None and hub.states.get(lamp()).state == "off", 15
            )
            entity_id = lamp()
            assert hub.states.get(entity_id).name == "Desk lamp"
            await hub.services.async_call(
                "light", "turn_on", {"entity_id": entity_id, "brightness": 128}
            )
            await wait_until(lambda: hub.states.get(entity_id).state == "on")
            assert hub.states.get(entity_id).attributes["brightness"] == 128
            await hub.services.async_call("light", "turn_off", {"entity_id": entity_id})
            await wait_until(lambda: hub.states.get(entity_id).state == "off")
    finally:
        status, log = await finish(process, signal.SIGTERM)
        await clear_retained(
            mqtt_broker_url, f"lamp_{unique_id}", prefix, f"{base}/state", f"{base}/status"
        )
    assert status == 0
    assert "light on (128)" in log and "light off" in log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "lights/#"], "topic base must be words joined by '/'"),
        (["--node-id", "a b"], "node id may hold letters"),
        (["--broker", "http://x"], "broker URL must look like mqtt://HOST:PORT"),
    ],
)
def test_bad_light_arguments_are_refused(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ethos", "device", "simulate", "--kind", "light", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and message in result.stderr
