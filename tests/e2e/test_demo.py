"""`ethos demo` brings the whole product up, reports it, and stops everything on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys

import aiohttp
import pytest

from cloud.payments.settings import DEVELOPMENT_BTCPAY_API_KEY, DEVELOPMENT_BTCPAY_STORE_ID
from ethos.demo import DEMO_SERIAL
from ethos.demo_runner import PORT_BTCPAY, PORT_CLOUD, PORT_HUB, port_open
from ethos.dynsec_broker import ADMIN_USER
from tests.hub.ethos_cloud.identity import refused
from tests.support.dynsec_broker import DynsecBroker
from tests.support.processes import ROOT, read_until
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e_only

READY_LINE = "Press Ctrl-C to stop everything."
BROKER_LINE = re.compile(
    r"MQTT broker +mqtt://127\.0\.0\.1:(\d+) \(Mosquitto, device identity enforced\)"
)


def _start_demo(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ethos", "demo", "--fresh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_demo_runs_the_product_and_stops_cleanly(tmp_path, unique_id):
    if any(port_open("127.0.0.1", port) for port in (PORT_CLOUD, PORT_BTCPAY, PORT_HUB)):
        pytest.skip("a demo port (8080, 8082, 8181) is already in use on this machine")
    prefix = f"ethos_demo_{unique_id}"
    env = {
        **os.environ,
        "ETHOS_DATA_DIR": str(tmp_path / "demo"),
        "ETHOS_HUB_DISCOVERY_PREFIX": prefix,
        "PYTHONUNBUFFERED": "1",
    }
    proc = _start_demo(env)
    try:
        lines = await asyncio.to_thread(read_until, proc, READY_LINE, 120)
        assert any("[1/" in line and "ready" in line for line in lines)
        output = "\n".join(lines)
        async with aiohttp.ClientSession() as http:
            store = await http.get(f"http://127.0.0.1:{PORT_CLOUD}/")
            assert store.status == 200
            product = await http.get(f"http://127.0.0.1:{PORT_CLOUD}/api/v1/products/EPD-1")
            assert product.status == 200
            health = await http.get(f"http://127.0.0.1:{PORT_HUB}/healthz")
            assert health.status == 200
            invoices = await http.get(
                f"http://127.0.0.1:{PORT_BTCPAY}/api/v1/stores/"
                f"{DEVELOPMENT_BTCPAY_STORE_ID}/invoices",
                headers={"Authorization": f"token {DEVELOPMENT_BTCPAY_API_KEY}"},
            )
            assert invoices.status == 200 and await invoices.json() == []
        # The demo runs its own broker with dynamic security: anonymous clients are refused,
        # the hub is its admin, and the simulated detector stays outside until the hub has
        # made its account (once the demo's buyer owns it).
        match = BROKER_LINE.search(output)
        assert match, output
        data = tmp_path / "demo"
        broker = DynsecBroker("127.0.0.1", int(match.group(1)), data / "mqtt", ADMIN_USER,
                              (data / "mqtt-admin.secret").read_text())  # fmt: skip
        assert await refused(broker, None, None)
        hub_log = data / "logs" / "hub.log"
        await wait_until(lambda: "enforces device identity" in hub_log.read_text(), 30)
        device_log = data / "logs" / "presence-detector-simulator.log"
        await wait_until(lambda: "broker refused connection" in device_log.read_text(), 30)
        assert f"as {DEMO_SERIAL}" in device_log.read_text()
        assert (tmp_path / "demo" / "demo-stock.csv").read_text().count(DEMO_SERIAL) == 1
        assert "Ethos demo is running." in output and "What to do first" in output
        assert '"Pay and confirm"' in output and '"Mine blocks (confirm)"' in output
        # A sign-up's confirmation mail is told on the console with its link.
        async with aiohttp.ClientSession() as http:
            signup = await http.post(
                f"http://127.0.0.1:{PORT_CLOUD}/api/v1/account/signup",
                json={"email": "newcomer@example.org", "password": "violet kettle orbit mango"},
            )
            assert signup.status == 202
        mail_lines = await asyncio.to_thread(read_until, proc, "/account/confirm?token=", 60)
        assert any("Mail to newcomer@example.org" in line for line in mail_lines)
        for port in (PORT_CLOUD, PORT_HUB, PORT_BTCPAY):
            assert f"http://127.0.0.1:{port}" in output

        proc.send_signal(signal.SIGINT)
        rest = await asyncio.to_thread(proc.communicate, timeout=60)
        assert proc.returncode == 0
        assert "demo stopped" in rest[0]
        assert not any(port_open("127.0.0.1", p) for p in (PORT_CLOUD, PORT_BTCPAY, PORT_HUB))
    finally:
        if proc.poll() is None:  # stop it the way a service manager would: it stops its parts
            proc.terminate()
            try:
                await asyncio.to_thread(proc.wait, 60)
            except subprocess.TimeoutExpired:
                proc.kill()
