"""Broker-enforced device identity (issue #14, hole 4), against a real Mosquitto with its
dynamic-security plugin in both tiers: the hub is the plugin's admin, creates a device's
account when the store reports the unit owned, deletes it when the unit leaves, and each
account may speak only for its own device."""

from __future__ import annotations

import asyncio
import json

import aiomqtt

from hub.integrations.mqtt.runtime import mqtt_runtime
from tests.hub.ethos_cloud.identity import (
    IdentityHome,
    device_password,
    ethos_device,
    listening,
    mqtt_session,
    refused,
    wait_for,
)
from tests.hub.ethos_cloud.test_sync_resilience import unit
from tests.support.waiting import wait_until

SERIAL, OTHER = "EPD-410001", "EPD-410002"


async def _settle(listener, device: aiomqtt.Client, serial: str) -> None:
    """A permitted message sent after the others: once it arrives, so has anything sent before
    it on that connection (MQTT keeps a connection's messages in order)."""
    marker = f"ethos/{serial}/diagnostic"
    await device.publish(marker, "marker", qos=1)
    await wait_until(lambda: "marker" in listener.payloads(marker))


async def test_anonymous_clients_are_refused_and_the_hub_says_identity_is_enforced(
    identity_home: IdentityHome,
) -> None:
    await identity_home.wait_enforced()
    assert await refused(identity_home.broker, None, None)


async def test_knowing_only_a_serial_gets_no_broker_login(identity_home: IdentityHome) -> None:
    secret = await identity_home.own(SERIAL)
    broker = identity_home.broker
    assert await refused(broker, SERIAL, None)
    assert await refused(broker, SERIAL, "")
    assert await refused(broker, SERIAL, SERIAL)
    assert await refused(broker, SERIAL, device_password(unit("x")["claim_secret"]))
    assert not await refused(broker, SERIAL, device_password(secret))


async def test_the_hub_creates_the_account_when_the_unit_is_owned_and_deletes_it_when_it_leaves(
    identity_home: IdentityHome,
) -> None:
    broker = identity_home.broker
    owned = unit(SERIAL)
    secret = owned["claim_secret"]
    identity_home.store.devices.append(owned)
    identity_home.secrets[SERIAL] = secret
    assert await refused(broker, SERIAL, device_password(secret))  # not synced yet

    await identity_home.runtime.sync.async_sync_once()
    await wait_for(lambda: refused(broker, SERIAL, device_password(secret)), False)
    async with mqtt_session(broker, SERIAL, device_password(secret)) as device:
        await device.subscribe(f"ethos/{SERIAL}/set/#")
        await identity_home.disown(SERIAL)
        # Deleting the account drops the device's live connection too.
        try:
            async with asyncio.timeout(5):
                async for _message in device.messages:
                    pass
            raise AssertionError("the connection outlived the account")
        except aiomqtt.MqttError:
            pass
    assert await refused(broker, SERIAL, device_password(secret))


async def test_a_device_publishes_its_own_state_and_discovery_and_nothing_of_others(
    identity_home: IdentityHome,
) -> None:
    secret = await identity_home.own(SERIAL)
    await identity_home.own(OTHER)
    prefix = identity_home.prefix
    async with (
        listening(identity_home.broker, "ethos/#", f"{prefix}/#") as hub_view,
        mqtt_session(identity_home.broker, SERIAL, device_password(secret)) as device,
    ):
        allowed = {
            f"ethos/{SERIAL}/occupancy": "ON",
            f"ethos/{SERIAL}/status": "online",
            f"ethos/{SERIAL}/claim/response": "ab" * 32,
            f"{prefix}/binary_sensor/{SERIAL}/occupancy/config": json.dumps({"stat_t": "x"}),
        }
        denied = {
            f"ethos/{OTHER}/occupancy": "ON",
            f"ethos/{OTHER}/status": "offline",
            f"ethos/{SERIAL}/claim/challenge": "a nonce of my own",
            f"{prefix}/binary_sensor/{OTHER}/occupancy/config": json.dumps({"stat_t": "x"}),
            f"{prefix}/switch/door/unlock/config": json.dumps({"cmd_t": "x"}),
            f"{prefix}/status": "offline",
        }
        for topic, payload in {**denied, **allowed}.items():
            await device.publish(topic, payload, qos=1)
        await _settle(hub_view, device, SERIAL)
        seen = {topic for topic, _ in hub_view.messages}
        assert set(allowed) <= seen
        assert not set(denied) & seen


async def test_a_device_reads_only_its_own_commands_claim_challenge_and_the_hub_status(
    identity_home: IdentityHome,
) -> None:
    secret = await identity_home.own(SERIAL)
    prefix = identity_home.prefix
    async with mqtt_session(identity_home.broker, SERIAL, device_password(secret)) as device:
        granted = {
            f"ethos/{SERIAL}/set/#",
            f"ethos/{SERIAL}/set/hold_time",
            f"ethos/{SERIAL}/claim/challenge",
            f"{prefix}/status",
        }
        refused_filters = {
            "#",
            "ethos/#",
            "ethos/+/set/#",
            f"ethos/{OTHER}/set/#",
            f"ethos/{OTHER}/claim/challenge",
            f"ethos/{SERIAL}/claim/response",
            f"{prefix}/#",
        }
        for topic_filter in granted:
            (code,) = await device.subscribe(topic_filter, qos=1)
            assert not code.is_failure, topic_filter
        for topic_filter in refused_filters:
            (code,) = await device.subscribe(topic_filter, qos=1)
            assert code.is_failure, topic_filter


async def test_the_knowing_only_a_serial_attack_of_the_review_fails(
    identity_home: IdentityHome,
) -> None:
    """The review's attack: spoof a verified device's occupancy and availability, re-point its
    entities, attach a "Door unlock" switch. Anonymous, it cannot even connect; with another
    device's account the broker drops every one of those messages."""
    prefix = identity_home.prefix
    secret = await identity_home.own(SERIAL)
    attacker_secret = await identity_home.own(OTHER)
    hub = identity_home.hub
    async with ethos_device(identity_home.broker, SERIAL, secret, prefix):
        await identity_home.verified_device(SERIAL)
        occupancy = f"binary_sensor.ethos_{SERIAL.lower().replace('-', '_')}_occupancy"
        await wait_until(lambda: (s := hub.states.get(occupancy)) and s.state == "off")
        assert await refused(identity_home.broker, None, None)
        async with (
            listening(identity_home.broker, "ethos/#") as hub_view,
            mqtt_session(identity_home.broker, OTHER, device_password(attacker_secret)) as evil,
        ):
            await evil.publish(f"ethos/{SERIAL}/occupancy", "ON", qos=1, retain=True)
            await evil.publish(f"ethos/{SERIAL}/status", "offline", qos=1, retain=True)
            repointed = {"name": "Occupancy", "stat_t": f"ethos/{OTHER}/fake", "dev": {
                "ids": [f"ethos:{SERIAL}"]}}  # fmt: skip
            await evil.publish(
                f"{prefix}/binary_sensor/{SERIAL}/occupancy/config", json.dumps(repointed), qos=1
            )
            door = {"name": "Door unlock", "cmd_t": f"ethos/{OTHER}/door", "uniq_id": "door1",
                    "dev": {"ids": [f"ethos:{SERIAL}"]}}  # fmt: skip
            await evil.publish(f"{prefix}/switch/{SERIAL}/door_unlock/config", json.dumps(door))
            await evil.publish(f"ethos/{OTHER}/diagnostic", "marker", qos=1)
            await wait_until(lambda: "marker" in hub_view.payloads(f"ethos/{OTHER}/diagnostic"))
        await asyncio.sleep(0.2)  # what the hub would do with them, it would have done by now
        assert hub.states.get(occupancy).state == "off"
        assert not any(s.entity_id.startswith("switch.") for s in hub.states.async_all())
        entity = next(
            e for e in mqtt_runtime(hub).discovery.discovered() if e.entity_id == occupancy
        )
        assert entity.config.state_topic == f"ethos/{SERIAL}/occupancy"
        assert identity_home.adoption(SERIAL)["verified"]
