"""Devices that must not be adopted: a spoofed serial, a replayed answer, a silent device,
a device the linked account does not own. Each is shown as unverified with its reason."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest

from tests.hub.ethos_cloud.claim_device import claiming_device
from tests.hub.ethos_cloud.common import Home, unique_serial
from tests.support.waiting import wait_until


def honest(secret_hex: str):
    return lambda nonce: hmac.new(bytes.fromhex(secret_hex), nonce, hashlib.sha256).hexdigest()


@pytest.fixture
async def linked(home: Home) -> Home:
    await home.link()
    await home.sign_in_to_hub()
    home.poll_fast()
    home.runtime.adoption.claim_timeout = 0.5
    return home


async def _owned_serial(home: Home) -> tuple[str, str]:
    serial = unique_serial()
    secret = await home.buy(serial)
    await home.runtime.sync.async_sync_once()
    assert serial in home.runtime.sync.owned
    return serial, secret


async def test_a_spoofed_device_with_an_owned_serial_stays_unverified(
    linked: Home, mqtt_broker_url: str
) -> None:
    serial, _secret = await _owned_serial(linked)
    forged = honest("00" * 32)  # knows the serial, not the claim secret
    async with claiming_device(mqtt_broker_url, serial, linked.prefix, forged):
        adoption = await linked.wait_adoption(serial)
    assert adoption["verified"] is False and adoption["adopted"] is False
    assert "wrong answer to the claim challenge" in adoption["reason"]
    device = linked.device_for(serial)
    assert device is not None
    page = await (await linked.hub_client.get(f"/devices/{device.id}")).text()
    assert 'id="adoption-status">Unverified' in page and "wrong answer" in page


async def test_a_replayed_answer_does_not_verify(linked: Home, mqtt_broker_url: str) -> None:
    serial, secret = await _owned_serial(linked)
    recorded: list[str] = []

    def record(nonce: bytes) -> str:
        recorded.append(honest(secret)(nonce))
        return recorded[-1]

    async with claiming_device(mqtt_broker_url, serial, linked.prefix, record):
        assert (await linked.wait_adoption(serial))["verified"] is True
    device = linked.device_for(serial)
    assert device is not None and recorded

    # Someone replays the real device's answer (also as a retained message) to a new challenge.
    async with claiming_device(
        mqtt_broker_url, serial, linked.prefix, lambda _nonce: recorded[0]
    ) as replayer:
        await replayer.publish(f"ethos/{serial}/claim/response", recorded[0], retain=True)
        verify = await linked.hub_client.post(
            f"/devices/{device.id}/verify", data={"csrf": await _csrf(linked)}
        )
        assert verify.status == 200
    adoption = linked.adoption(serial)
    assert adoption["verified"] is False
    assert "wrong answer" in adoption["reason"]


async def test_a_silent_device_is_unverified_with_the_reason(
    linked: Home, mqtt_broker_url: str
) -> None:
    serial, _secret = await _owned_serial(linked)
    async with claiming_device(mqtt_broker_url, serial, linked.prefix, lambda _nonce: None):
        adoption = await linked.wait_adoption(serial)
    assert adoption["verified"] is False
    assert adoption["reason"] == "no answer to the claim challenge within 0.5 s"


async def test_a_device_of_another_account_is_not_adopted_nor_challenged(
    linked: Home, mqtt_broker_url: str
) -> None:
    serial = unique_serial()  # in stock or sold to someone else: not this account's
    async with claiming_device(mqtt_broker_url, serial, linked.prefix, honest("11" * 32)) as device:
        adoption = await linked.wait_adoption(serial)
        challenges = device.messages_on(f"ethos/{serial}/claim/challenge")
    assert adoption["adopted"] is False and adoption["verified"] is False
    assert adoption["reason"] == f"not a device of the linked account ({linked.email})"
    assert challenges == []  # the hub never asks a stranger's device for a proof


async def _csrf(home: Home) -> str:
    page = await (await home.hub_client.get("/devices")).text()
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return match.group(1)


async def test_a_device_silent_at_first_is_verified_when_it_comes_online(
    linked: Home, mqtt_broker_url: str
) -> None:
    serial, secret = await _owned_serial(linked)
    powered = {"on": False}

    def answer(nonce: bytes) -> str | None:
        return honest(secret)(nonce) if powered["on"] else None

    async with claiming_device(mqtt_broker_url, serial, linked.prefix, answer) as device:
        assert (await linked.wait_adoption(serial))["verified"] is False
        powered["on"] = True  # no new discovery: only its availability and states change
        await device.publish(f"ethos/{serial}/status", "online", retain=True)
        await device.publish(f"ethos/{serial}/occupancy", "OFF", retain=True)
        await wait_until(lambda: linked.adoption(serial).get("verified") is True, timeout=5)
