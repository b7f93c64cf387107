"""The pin on a verified device's discovery: a changed config, or a new entity naming the
device's identifier, takes effect only after a fresh claim proof; one published outside the
device's own discovery topics never does. Both tiers, on a dynamic-security Mosquitto."""

from __future__ import annotations

import asyncio
import json

import aiomqtt

from ethos.tasks import async_cancel_and_wait
from hub.integrations.mqtt.runtime import mqtt_runtime
from tests.firmware.mqtt_support import clear_retained, host_port
from tests.hub.ethos_cloud.identity import (
    EthosDevice,
    IdentityHome,
    device_password,
    ethos_device,
    mqtt_session,
)
from tests.hub.ethos_cloud.test_sync_resilience import unit
from tests.support.waiting import wait_until

SERIAL = "EPD-420001"
OCCUPANCY = "binary_sensor.ethos_epd_420001_occupancy"


def _held(home: IdentityHome) -> list[dict]:
    return home.pin(SERIAL).get("held") or []


async def test_a_changed_config_of_a_verified_device_waits_for_a_fresh_claim(
    identity_home: IdentityHome,
) -> None:
    home, prefix = identity_home, identity_home.prefix
    secret = await home.own(SERIAL)
    async with ethos_device(home.broker, SERIAL, secret, prefix) as device:
        device_id = await home.verified_device(SERIAL)
        topic = f"{prefix}/binary_sensor/{SERIAL}/occupancy/config"
        changed = {**device.config("binary_sensor", "occupancy"), "name": "Presence"}
        changed["state_topic"] = f"ethos/{SERIAL}/presence"

        device.answering = False  # the device (or whoever sent this) cannot prove itself now
        await device.client.publish(topic, json.dumps(changed), qos=1, retain=True)
        await wait_until(lambda: any(h["topic"] == topic for h in _held(home)))
        assert home.hub.states.get(OCCUPANCY).attributes["friendly_name"].endswith("Occupancy")
        await wait_until(lambda: "did not prove itself again" in _held(home)[0]["reason"])
        page = await (await home.client.get(f"/devices/{device_id}")).text()
        assert 'id="discovery-held"' in page and "did not prove itself again" in page
        entity = next(e for e in mqtt_runtime(home.hub).discovery.discovered()
                      if e.entity_id == OCCUPANCY)  # fmt: skip
        assert entity.config.state_topic == f"ethos/{SERIAL}/occupancy"

        device.answering = True  # a fresh claim succeeds: the change takes effect
        verify = await home.client.post(
            f"/devices/{device_id}/verify", data=home.form(), allow_redirects=False
        )
        assert verify.status == 303
        await wait_until(lambda: not _held(home))
        await wait_until(
            lambda: (
                (s := home.hub.states.get(OCCUPANCY))
                and s.attributes["friendly_name"].endswith("Presence")
            )
        )
        assert home.adoption(SERIAL)["verified"]


async def test_a_new_entity_for_a_verified_device_waits_for_a_fresh_claim(
    identity_home: IdentityHome,
) -> None:
    home, prefix = identity_home, identity_home.prefix
    secret = await home.own(SERIAL)
    async with ethos_device(home.broker, SERIAL, secret, prefix) as device:
        await home.verified_device(SERIAL)
        challenges = device.challenges
        light = {"name": "Light level", "stat_t": f"ethos/{SERIAL}/light",
                 "uniq_id": "ethos_epd_420001_light",
                 "dev": {"ids": [f"ethos:{SERIAL}"]}}  # fmt: skip
        topic = f"{prefix}/sensor/{SERIAL}/light/config"
        await device.client.publish(topic, json.dumps(light), qos=1, retain=True)
        # Applied only once the device answered a challenge sent after the config arrived.
        discovery = mqtt_runtime(home.hub).discovery
        await wait_until(lambda: any(e.discovery_topic == topic for e in discovery.discovered()))
        assert device.challenges > challenges
        assert not _held(home)


async def test_an_entity_claiming_a_verified_device_from_another_node_is_never_attached(
    identity_home: IdentityHome,
) -> None:
    """A third-party account may publish discovery under its own node id; naming an Ethos
    device's identifier there ("Door unlock" whose commands go to the third party) is held
    for good: the device's answer to a challenge cannot vouch for a config it never sent."""
    home, prefix = identity_home, identity_home.prefix
    secret = await home.own(SERIAL)
    await home.wait_enforced()
    made = await home.client.post(
        "/broker/credentials",
        data=home.form(name="plug1", base="tasmota/plug1", node_id="plug1", label="Plug"),
    )
    assert made.status == 201
    page = await made.text()
    password = page.split('id="created-password">')[1].split("<")[0]
    async with ethos_device(home.broker, SERIAL, secret, prefix):
        device_id = await home.verified_device(SERIAL)
        door = {"name": "Door unlock", "cmd_t": "tasmota/plug1/door/set", "uniq_id": "door1",
                "dev": {"ids": [f"ethos:{SERIAL}"], "name": "Front door"}}  # fmt: skip
        topic = f"{prefix}/switch/plug1/door_unlock/config"
        async with mqtt_session(home.broker, "ext-plug1", password) as plug:
            await plug.publish(topic, json.dumps(door), qos=1, retain=True)
            await wait_until(lambda: any(h["topic"] == topic for h in _held(home)))
            assert "outside its own discovery topics" in _held(home)[0]["reason"]
            await home.client.post(f"/devices/{device_id}/verify", data=home.form())
            assert home.adoption(SERIAL)["verified"]
            assert any(h["topic"] == topic for h in _held(home))
            assert not any(s.entity_id.startswith("switch.") for s in home.hub.states.async_all())
            await plug.publish(topic, b"", qos=1, retain=True)
        device_page = await (await home.client.get(f"/devices/{device_id}")).text()
        assert "Door unlock" not in device_page.split('id="discovery-held"')[0]
        assert home.hub.devices.get(device_id).name != "Front door"


async def test_an_unverified_device_is_not_pinned(identity_home: IdentityHome) -> None:
    """Before the proof there is nothing to pin: the device's own changes apply at once
    (the adoption check decides what the device page says)."""
    home, prefix = identity_home, identity_home.prefix
    secret = await home.own(SERIAL)
    async with ethos_device(home.broker, SERIAL, secret, prefix, answering=False) as device:
        await wait_until(lambda: home.adoption(SERIAL).get("reason", "").startswith("no answer"))
        topic = f"{prefix}/binary_sensor/{SERIAL}/occupancy/config"
        changed = {**device.config("binary_sensor", "occupancy"), "name": "Presence"}
        async with mqtt_session(home.broker, SERIAL, device_password(secret)) as same_device:
            await same_device.publish(topic, json.dumps(changed), qos=1, retain=True)
        await wait_until(
            lambda: (
                (s := home.hub.states.get(OCCUPANCY))
                and s.attributes["friendly_name"].endswith("Presence")
            )
        )
        assert not _held(home)


async def test_on_an_anonymous_broker_a_verified_devices_discovery_cannot_be_repointed(
    anonymous_home: IdentityHome, mqtt_broker_url: str, unique_id: str
) -> None:
    """Where the broker enforces nothing, anyone can write to a device's discovery topics and
    the real device will still answer a challenge: the review's re-pointed entity and its
    "Door unlock" switch stay held, whatever the device answers, and the page says why."""
    home, prefix = anonymous_home, anonymous_home.prefix
    serial = f"EPA-{unique_id}"
    owned = unit(serial)
    home.store.devices.append(owned)
    await home.runtime.sync.async_sync_once()
    host, port = host_port(mqtt_broker_url)
    try:
        async with aiomqtt.Client(host, port, identifier=f"dev-{unique_id}") as client:
            device = EthosDevice(client, serial, owned["claim_secret"], prefix)
            await client.subscribe(f"ethos/{serial}/claim/challenge", qos=1)
            task = asyncio.get_running_loop().create_task(device.serve())
            await device.announce()
            try:
                device_id = await home.verified_device(serial)
                occupancy = f"binary_sensor.ethos_{serial.lower().replace('-', '_')}_occupancy"
                async with aiomqtt.Client(host, port, identifier=f"evil-{unique_id}") as evil:
                    repointed = {**device.config("binary_sensor", "occupancy"),
                                 "state_topic": f"evil/{unique_id}/occupancy"}  # fmt: skip
                    door = {"name": "Door unlock", "cmd_t": f"evil/{unique_id}/door",
                            "uniq_id": f"door_{unique_id}",
                            "dev": {"ids": [f"ethos:{serial}"]}}  # fmt: skip
                    for topic, config in (
                        (f"{prefix}/binary_sensor/{serial}/occupancy/config", repointed),
                        (f"{prefix}/switch/{serial}/door_unlock/config", door),
                    ):
                        await evil.publish(topic, json.dumps(config), qos=1, retain=True)
                    await wait_until(lambda: len(home.pin(serial).get("held") or []) == 2)
                discovery = mqtt_runtime(home.hub).discovery
                entity = next(e for e in discovery.discovered() if e.entity_id == occupancy)
                assert entity.config.state_topic == f"ethos/{serial}/occupancy"
                assert not any(
                    s.entity_id.startswith("switch.") for s in home.hub.states.async_all()
                )
                page = await (await home.client.get(f"/devices/{device_id}")).text()
                assert "does not enforce identity" in page
                assert home.adoption(serial)["verified"]
            finally:
                await async_cancel_and_wait(task)
    finally:
        await clear_retained(mqtt_broker_url, serial, prefix)
