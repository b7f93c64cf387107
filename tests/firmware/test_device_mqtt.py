"""The firmware application on CPython against a real broker (amqtt, or Mosquitto in --e2e).

The device runs with the simulated radar and PIR and the paho adapter in place of
umqtt.simple; the test observes it the way the hub does, over MQTT only.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from firmware.simulator.radar import RadarTarget
from tests.firmware.mqtt_support import (
    SECRET_HEX,
    DeviceThread,
    TcpProxy,
    host_port,
    observe,
)
from tests.support.waiting import wait_until


@pytest.fixture
def serial(unique_id: str) -> str:
    return f"EPD-T{unique_id}"


def topics(serial: str) -> tuple[str, str]:
    return f"ethos/{serial}/#", f"homeassistant/+/{serial}/+/config"


async def test_device_announces_discovery_state_and_settings(mqtt_broker_url, serial, cleanup):
    async with observe(mqtt_broker_url, *topics(serial)) as hub:
        device = DeviceThread(serial, host_port(mqtt_broker_url)).start()
        try:
            await hub.wait_for(f"ethos/{serial}/status", b"online")
            await hub.wait_for(f"homeassistant/select/{serial}/sensitivity/config")
            await hub.wait_for(f"ethos/{serial}/hold_time", b"15")
            await hub.wait_for(f"ethos/{serial}/sensitivity", b"medium")
            await hub.wait_for(f"ethos/{serial}/occupancy", b"OFF")
            await hub.wait_for(f"ethos/{serial}/diagnostic", b"ok")
        finally:
            device.stop()
        await hub.wait_for(f"ethos/{serial}/status", b"offline")
    # A subscriber arriving later (the hub after a restart) gets every config as retained.
    async with observe(mqtt_broker_url, *topics(serial)) as late:
        await late.wait_for(f"ethos/{serial}/status", b"offline")
        await wait_until(
            lambda: len({m.topic for m in late.messages if "/config" in m.topic}) == 14
        )
        assert all(m.retain for m in late.messages)


async def test_radar_presence_turns_occupancy_on_then_off(mqtt_broker_url, serial, cleanup):
    settings = {"on_latency": 0.2, "hold_time": 1}
    async with observe(mqtt_broker_url, *topics(serial)) as hub:
        device = DeviceThread(serial, host_port(mqtt_broker_url), settings).start()
        try:
            await hub.wait_for(f"ethos/{serial}/occupancy", b"OFF")
            device.scene.target = RadarTarget(2, 0, 0, 180, 70)
            on = await hub.wait_for(f"ethos/{serial}/occupancy", b"ON")
            await hub.wait_for(f"ethos/{serial}/still_distance", b"180")
            await hub.wait_for(f"ethos/{serial}/target", b"still")
            device.scene.target = RadarTarget()
            mark = hub.messages.index(on) + 1
            off = await hub.wait_for(f"ethos/{serial}/occupancy", b"OFF", after=mark)
        finally:
            device.stop()
        assert off.at - on.at >= 1.0  # the hold time
        assert device.radar.frames_sent > 10


async def test_pir_alone_reports_motion_and_occupancy(mqtt_broker_url, serial, cleanup):
    async with observe(mqtt_broker_url, *topics(serial)) as hub:
        device = DeviceThread(serial, host_port(mqtt_broker_url), {"on_latency": 5}).start()
        try:
            await hub.wait_for(f"ethos/{serial}/occupancy", b"OFF")
            device.scene.pir = True
            await hub.wait_for(f"ethos/{serial}/pir", b"ON")
            await hub.wait_for(f"ethos/{serial}/occupancy", b"ON")
        finally:
            device.stop()


async def test_settings_are_applied_echoed_saved_and_pushed_to_the_radar(
    mqtt_broker_url, serial, cleanup
):
    async with observe(mqtt_broker_url, *topics(serial)) as hub:
        device = DeviceThread(serial, host_port(mqtt_broker_url)).start()
        try:
            await hub.wait_for(f"ethos/{serial}/max_distance", b"600")
            mark = len(hub.messages)
            await hub.publish(f"ethos/{serial}/set/hold_time", "30")
            await hub.publish(f"ethos/{serial}/set/max_distance", "300")
            await hub.publish(f"ethos/{serial}/set/sensitivity", "high")
            await hub.wait_for(f"ethos/{serial}/hold_time", b"30", after=mark)
            await hub.wait_for(f"ethos/{serial}/max_distance", b"300", after=mark)
            await hub.wait_for(f"ethos/{serial}/sensitivity", b"high", after=mark)
        finally:
            device.stop()
        assert device.device.fusion.hold_ms == 30000
        assert device.radar.max_gate == 4 and device.radar.thresholds == (30, 20)
        saved = json.loads(device.store.saved[-1])["settings"]
        assert saved == {
            "hold_time": 30,
            "on_latency": 0.5,
            "max_distance": 300,
            "sensitivity": "high",
        }


async def test_bad_commands_are_refused_with_a_diagnostic_and_change_nothing(
    mqtt_broker_url, serial, cleanup
):
    async with observe(mqtt_broker_url, *topics(serial)) as hub:
        device = DeviceThread(serial, host_port(mqtt_broker_url)).start()
        try:
            await hub.wait_for(f"ethos/{serial}/diagnostic", b"ok")
            mark = len(hub.messages)
            await hub.publish(f"ethos/{serial}/set/hold_time", "99999")
            refused = await hub.wait_for(f"ethos/{serial}/diagnostic", after=mark)
            assert b"out of range" in refused.payload
            await hub.wait_for(f"ethos/{serial}/hold_time", b"15", after=mark)  # snaps back
            await hub.publish(f"ethos/{serial}/set/turbo", "on")
            await hub.wait_for(f"ethos/{serial}/diagnostic", b"unknown setting 'turbo'")
            await hub.publish(f"ethos/{serial}/set/on_latency", b"\xff\x00garbage")
            await hub.wait_for(f"ethos/{serial}/diagnostic", after=len(hub.messages))
            # Still alive and answering after the garbage.
            await hub.publish(f"ethos/{serial}/set/hold_time", "20")
            await hub.wait_for(f"ethos/{serial}/hold_time", b"20")
        finally:
            device.stop()
        assert device.device.config["settings"]["on_latency"] == 0.5
        assert len(device.store.saved) == 1


async def test_claim_challenge_is_answered_with_the_hmac(mqtt_broker_url, serial, cleanup):
    nonce = b"9f86d081884c7d659a2feaa0c55ad015"
    async with observe(mqtt_broker_url, *topics(serial)) as hub:
        device = DeviceThread(serial, host_port(mqtt_broker_url)).start()
        try:
            await hub.wait_for(f"ethos/{serial}/diagnostic", b"ok")
            await hub.publish(f"ethos/{serial}/claim/challenge", nonce)
            answer = await hub.wait_for(f"ethos/{serial}/claim/response")
            await hub.publish(f"ethos/{serial}/claim/challenge", b"tiny")
            refused = await hub.wait_for(f"ethos/{serial}/diagnostic", after=len(hub.messages))
        finally:
            device.stop()
        expected = hmac.new(bytes.fromhex(SECRET_HEX), nonce, hashlib.sha256).hexdigest()
        assert answer.payload.decode() == expected and not answer.retain
        assert b"claim challenge rejected" in refused.payload
        assert len(hub.payloads(f"ethos/{serial}/claim/response")) == 1
        assert SECRET_HEX.encode() not in b"".join(m.payload for m in hub.messages)


async def test_hub_birth_message_triggers_a_new_announcement(mqtt_broker_url, serial, cleanup):
    config_topic = f"homeassistant/binary_sensor/{serial}/occupancy/config"
    async with observe(mqtt_broker_url, *topics(serial)) as hub:
        device = DeviceThread(serial, host_port(mqtt_broker_url)).start()
        try:
            await hub.wait_for(config_topic)
            mark = len(hub.messages)
            await hub.publish("homeassistant/status", "offline")
            await hub.publish("homeassistant/status", "online")
            await hub.wait_for(config_topic, after=mark)
            await hub.wait_for(f"ethos/{serial}/status", b"online", after=mark)
        finally:
            device.stop()
        assert len(hub.payloads(config_topic)) == 2


async def test_corrupt_config_runs_on_defaults_and_says_so_over_mqtt(
    mqtt_broker_url, serial, cleanup
):
    async with observe(mqtt_broker_url, *topics(serial)) as hub:
        device = DeviceThread(serial, host_port(mqtt_broker_url), config_text="{corrupt").start()
        try:
            diagnostic = await hub.wait_for(f"ethos/{serial}/diagnostic")
            await hub.wait_for(f"ethos/{serial}/hold_time", b"15")
            await hub.publish(f"ethos/{serial}/claim/challenge", b"0123456789abcdef")
            await hub.wait_for(
                f"ethos/{serial}/diagnostic",
                b"claim challenge ignored: no claim secret configured",
            )
        finally:
            device.stop()
        assert b"not valid JSON: using safe defaults" in diagnostic.payload
        assert hub.payloads(f"ethos/{serial}/claim/response") == []


async def test_broker_loss_fires_the_will_and_the_device_reconnects(
    mqtt_broker_url, serial, cleanup
):
    proxy = TcpProxy(host_port(mqtt_broker_url))
    await proxy.start()
    async with observe(mqtt_broker_url, *topics(serial)) as hub:
        device = DeviceThread(serial, ("127.0.0.1", proxy.port), {"on_latency": 0}).start()
        try:
            await hub.wait_for(f"ethos/{serial}/status", b"online")
            mark = len(hub.messages)
            proxy.cut()
            await hub.wait_for(f"ethos/{serial}/status", b"offline", after=mark)
            await wait_until(lambda: not device.device.link.connected)
            device.scene.target = RadarTarget(1, 120, 90, 0, 0)  # happens while offline
            await wait_until(lambda: device.device.fusion.occupied)
            proxy.restore()
            await hub.wait_for(f"ethos/{serial}/status", b"online", after=mark)
            await hub.wait_for(f"ethos/{serial}/occupancy", b"ON", after=mark)
        finally:
            device.stop()
            await proxy.close()
        assert device.device.link.connections == 2


async def test_an_unreachable_broker_is_retried_with_backoff_while_sensing_goes_on(serial):
    from tests.support.processes import free_port

    device = DeviceThread(serial, ("127.0.0.1", free_port()), {"on_latency": 0}).start()
    try:
        await wait_until(lambda: device.device.link.backoff.delay_ms >= 400)
        device.scene.target = RadarTarget(1, 120, 90, 0, 0)
        await wait_until(lambda: device.device.fusion.occupied)
    finally:
        device.stop()
    assert device.device.link.connections == 0
