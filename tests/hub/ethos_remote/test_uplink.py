"""The hub's side of remote access over a real broker: off by default, only what the owner
shares leaves the hub (sealed), commands from paired browsers obey sharing and the hub's
Authorizer, and replayed or altered ones are refused."""

from __future__ import annotations

import json

from tests.hub.ethos_remote.conftest import HEATER, PLUG
from tests.hub.ethos_remote.home import Listener, RemoteHome, _open_fresh
from tests.support.waiting import wait_until


async def test_off_by_default_publishes_nothing(remote_home: RemoteHome) -> None:
    home = remote_home
    async with Listener.connect(home.broker_url, home.hub_id) as listener:
        for _ in range(3):
            await home.remote.async_reconcile()
        await home.hub.services.async_call("switch", "turn_on", {"entity_id": PLUG})
        assert home.remote.uplink is None
        assert home.store.sessions == []  # the store was not even asked
        page = await (await home.client.get("/remote")).text()
        assert 'data-status="off"' in page
        assert listener.heard == []


async def test_only_shared_entities_leave_the_hub_sealed(remote_home: RemoteHome) -> None:
    home = remote_home
    await home.share(PLUG)
    await home.wait_connected()
    assert home.store.sessions[-1] == {"enabled": True, "members": ["owner-sub"]}
    code = await home.pairing_code()
    async with home.browser(code) as phone:
        page = await (await home.client.get("/remote")).text()
        assert f'id="paired-check">{phone.browser.check}<' in page  # both show the digits
        await wait_until(lambda: phone.latest_snapshot() is not None)
        snapshot = phone.latest_snapshot()
        assert snapshot is not None
        assert [e["entity_id"] for e in snapshot["entities"]] == [PLUG]
        plug = snapshot["entities"][0]
        assert plug["device"] == "Kitchen"
        assert [c["service"] for c in plug["controls"]] == ["switch.turn_on", "switch.turn_off"]
        # The broker carried ciphertext only: no entity id, state or name in any payload.
        for heard in phone.listener.heard:
            assert b"kitchen" not in heard.payload.lower(), heard.topic
            assert b"Plug" not in heard.payload


async def test_remote_command_runs_as_the_person_only_on_shared_entities(
    remote_home: RemoteHome,
) -> None:
    home = remote_home
    await home.share(PLUG)
    await home.wait_connected()
    async with home.browser(await home.pairing_code()) as phone:
        command = await phone.send(PLUG, "switch.turn_on")
        assert (await phone.reply_to(command))["ok"] is True
        await wait_until(lambda: home.hub.states.get(PLUG).state == "on")
        # The change comes back as an event to every browser.
        event_topic = f"ethos-home/{home.hub_id}/event"
        await wait_until(lambda: phone.listener.on(event_topic))
        events = [
            _open_fresh(phone.browser, event_topic, h.payload)
            for h in phone.listener.on(event_topic)
        ]
        assert any(
            e["entity"]["entity_id"] == PLUG and e["entity"]["state"] == "on" for e in events
        )

        refused = await phone.send(HEATER, "switch.turn_on")
        answer = await phone.reply_to(refused)
        assert answer == {
            "type": "reply",
            "id": refused,
            "ok": False,
            "error": "this device is not shared remotely",
        }
        assert home.hub.states.get(HEATER).state != "on"
        wrong = await phone.send(PLUG, "light.turn_on")
        assert (await phone.reply_to(wrong))["ok"] is False


async def test_replayed_or_altered_commands_are_refused(remote_home: RemoteHome) -> None:
    home = remote_home
    await home.share(PLUG)
    await home.wait_connected()
    async with home.browser(await home.pairing_code()) as phone:
        on_id, turn_on = phone.browser.command(PLUG, "switch.turn_on")
        client = phone.listener.client
        await client.publish(phone.browser.cmd_topic, turn_on)
        assert (await phone.reply_to(on_id))["ok"] is True
        off_id = await phone.send(PLUG, "switch.turn_off")
        assert (await phone.reply_to(off_id))["ok"] is True
        assert home.hub.states.get(PLUG).state == "off"
        gate = home.remote.uplink.gate
        await client.publish(phone.browser.cmd_topic, turn_on)  # the very same bytes again
        envelope = json.loads(turn_on)
        envelope["ct"] = ("A" if envelope["ct"][0] != "A" else "B") + envelope["ct"][1:]
        await client.publish(phone.browser.cmd_topic, json.dumps(envelope).encode())
        await wait_until(lambda: gate.refused >= 2)
        # A command after them still works: nothing was queued or stuck.
        last = await phone.send(PLUG, "switch.turn_off")
        assert (await phone.reply_to(last))["ok"] is True
        assert home.hub.states.get(PLUG).state == "off"
        assert [r["id"] for r in phone.replies()].count(on_id) == 1


async def test_nothing_changed_means_no_new_snapshot_until_the_heartbeat(
    remote_home: RemoteHome,
) -> None:
    """The owner's page and the members check look again every few seconds: that alone
    must not publish (the broker's load is one snapshot per 30 s per idle hub)."""
    home = remote_home
    await home.share(PLUG)
    await home.wait_connected()
    uplink = home.remote.uplink
    await wait_until(lambda: not uplink.snapshot_pending)  # the first one is out
    for _ in range(3):
        await home.remote.async_reconcile()
    assert not uplink.snapshot_pending
    await home.hub.services.async_call("switch", "turn_on", {"entity_id": PLUG})
    assert uplink.snapshot_pending  # a shared entity changed: a snapshot is due
