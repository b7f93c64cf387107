"""The device logs in to the broker as its serial with the password derived from its claim
secret: the same value under MicroPython as in the hub, and the simulator (the firmware's
own modules) gets in to a dynamic-security Mosquitto where the hub made its account."""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import AsyncIterator

import pytest

from hub.integrations.mqtt.client import MqttClient
from tests.firmware.interpreters import run_both
from tests.firmware.mqtt_support import SECRET_HEX, DeviceThread, finish, simulate
from tests.hub.ethos_cloud.identity import device_password, listening, refused
from tests.support.dynsec_broker import DynsecBroker
from tests.support.waiting import wait_until


@contextlib.asynccontextmanager
async def account_for(broker: DynsecBroker, serial: str, secret_hex: str) -> AsyncIterator[None]:
    """The device's account, made by the hub's own broker code as the hub's admin."""
    from hub.integrations.mqtt.broker_identity import BrokerIdentity

    client = MqttClient(broker.admin_url)
    identity = BrokerIdentity(client, "homeassistant")
    await identity.async_start()
    await client.async_start()
    try:
        await wait_until(lambda: identity.enforced, timeout=15)
        await identity.async_put_device(
            serial, device_password(secret_hex), f"Ethos EPD-1 {serial}"
        )
        yield
    finally:
        await identity.async_stop()
        await client.async_stop()


def test_the_broker_password_is_the_same_under_micropython_as_in_the_hub() -> None:
    body = f"""
import json, claim
print(json.dumps([claim.broker_password(bytes.fromhex({SECRET_HEX!r})),
                  claim.broker_password(bytes(32))]))
"""
    micro, cpython = run_both(body)
    assert micro == cpython
    expected = [device_password(SECRET_HEX), device_password("00" * 32)]
    assert micro == [expected]


@pytest.mark.parametrize("sig", [signal.SIGTERM])
async def test_the_simulated_device_logs_in_with_its_serial_and_derived_password(
    dynsec_broker: DynsecBroker, unique_id: str, sig: int
) -> None:
    serial = f"EPD-L{unique_id}"
    assert await refused(dynsec_broker, serial, device_password(SECRET_HEX))
    async with (
        account_for(dynsec_broker, serial, SECRET_HEX),
        listening(dynsec_broker, f"ethos/{serial}/#", f"homeassistant/+/{serial}/+/config") as hub,
    ):
        process = simulate(serial, dynsec_broker.url())  # no credentials in the URL
        try:
            await wait_until(lambda: "online" in hub.payloads(f"ethos/{serial}/status"), 20)
            config_topic = f"homeassistant/binary_sensor/{serial}/occupancy/config"
            await wait_until(lambda: hub.payloads(config_topic))
            assert json.loads(hub.payloads(config_topic)[0])["device"]["identifiers"] == [
                f"ethos:{serial}"
            ]
        finally:
            status, _err = await finish(process, sig)
        assert status == 0


async def test_the_firmware_device_is_refused_without_its_account(
    dynsec_broker: DynsecBroker, unique_id: str
) -> None:
    """Same firmware, same broker, no account made by the hub: it stays outside and says so."""
    serial = f"EPD-N{unique_id}"
    device = DeviceThread(serial, (dynsec_broker.host, dynsec_broker.port)).start()
    try:
        await wait_until(lambda: device.device.link.backoff.delay_ms > 0, 10)
        assert not device.device.link.connected
    finally:
        device.stop()
