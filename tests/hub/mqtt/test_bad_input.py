"""Junk on the discovery and state topics is logged, ignored, and loses nothing."""

from __future__ import annotations

import logging

import pytest

from hub.core.hub import Hub
from tests.hub.mqtt.conftest import StartHub, runtime
from tests.hub.mqtt.device import FakeDevice
from tests.support.waiting import wait_until


async def test_junk_discovery_is_ignored_and_good_entities_survive(
    hub: Hub, device: FakeDevice, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    good_topic = f"{prefix}/sensor/good/config"
    await device.publish(good_topic, {"name": "Good", "stat_t": f"{prefix}/good"}, retain=True)
    await wait_until(lambda: hub.states.get("sensor.good"))
    discovery = runtime(hub).discovery

    junk = [
        (f"{prefix}/sensor/bad1/config", b"{not json"),
        (f"{prefix}/sensor/bad2/config", b"[1, 2]"),
        (f"{prefix}/vacuum/bad3/config", b'{"name": "Robot"}'),
        (
            f"{prefix}/sensor/bad4/config",
            b'{"name": "T", "stat_t": "x", "val_tpl": "{{ value_json. }}"}',
        ),
        (f"{prefix}/sensor/bad5/config", b'{"name": "W", "stat_t": "#"}'),
        (f"{prefix}/switch/bad6/config", b'{"name": "No command topic"}'),
        (f"{prefix}/sensor/bad7/config", b'{"name": "' + b"x" * 300_000 + b'"}'),
        (f"{prefix}/device/bad8/config", b'{"dev": {"ids": "d"}, "cmps": {"a": {"p": "toaster"}}}'),
        (f"{prefix}/number/bad9/config", b'{"cmd_t": "n/set", "min": 5, "max": 1}'),
        (f"{prefix}/sensor/bad10/config", b"\xff\xfe\x00garbage"),
    ]
    with caplog.at_level(logging.WARNING):
        for topic, payload in junk:
            await device.client.publish(topic, payload, retain=False)
        # The oversized one is refused by the connection before discovery sees it.
        await wait_until(lambda: discovery.ignored >= len(junk) - 1)
        assert runtime(hub).client.oversized == 1
        # The same junk again is not logged again.
        await device.client.publish(junk[0][0], b"{still not json")
        await wait_until(lambda: discovery.ignored >= len(junk))

    warnings = [r.getMessage() for r in caplog.records if "Ignoring discovery" in r.getMessage()]
    assert len(warnings) == len(junk) - 1
    assert any("malformed JSON" in w for w in warnings)
    assert any("unknown component 'vacuum'" in w for w in warnings)
    assert any("broken template" in w for w in warnings)
    assert any("wildcards" in w for w in warnings)
    assert any("command_topic" in w for w in warnings)
    assert any("300012 byte payload" in r.getMessage() for r in caplog.records)
    assert any("min must be below max" in w for w in warnings)
    assert len(discovery.discovered()) == 1
    await device.publish(f"{prefix}/good", "ok")
    await wait_until(lambda: hub.states.get("sensor.good").state == "ok")


async def test_discovery_api_accepts_messages_without_a_broker_round_trip(
    hub: Hub, prefix: str
) -> None:
    discovery = runtime(hub).discovery
    await discovery.async_process_discovery_message(
        f"{prefix}/binary_sensor/api/motion/config",
        '{"name": "Motion", "stat_t": "api/motion", "dev_cla": "motion"}',
    )
    assert hub.states.get("binary_sensor.motion").attributes["device_class"] == "motion"
    await discovery.async_process_discovery_message("elsewhere/sensor/x/config", "{}")
    await discovery.async_process_discovery_message(f"{prefix}/sensor/a+b/config", "{}")
    assert discovery.ignored == 2
    assert [d.entity_id for d in discovery.discovered()] == ["binary_sensor.motion"]


async def test_bad_state_payloads_and_broken_renders_keep_the_last_state(
    hub: Hub, device: FakeDevice, prefix: str
) -> None:
    topic = f"{prefix}/bs"
    await device.publish(
        f"{prefix}/binary_sensor/bs/config",
        {
            "name": "Door",
            "stat_t": topic,
            "val_tpl": "{{ value_json.door.open }}",
            "pl_on": "True",
            "pl_off": "False",
        },
    )
    await wait_until(lambda: hub.states.get("binary_sensor.door"))
    await device.publish(topic, {"door": {"open": True}})
    await wait_until(lambda: hub.states.get("binary_sensor.door").state == "on")
    await device.publish(topic, {"window": 1})  # template fails: value_json.door undefined
    await device.publish(topic, "not json at all")
    await device.publish(topic, {"door": {"open": "ajar"}})  # neither on nor off
    await device.publish(topic, {"door": {"open": False}})
    await wait_until(lambda: hub.states.get("binary_sensor.door").state == "off")


async def test_sandbox_refuses_unsafe_template_access(
    hub: Hub, device: FakeDevice, prefix: str
) -> None:
    topic = f"{prefix}/sbx"
    await device.publish(
        f"{prefix}/sensor/sbx/config",
        {"name": "Sbx", "stat_t": topic, "val_tpl": "{{ value.__class__.__mro__ }}"},
    )
    await wait_until(lambda: hub.states.get("sensor.sbx"))
    await device.publish(topic, "x")
    await device.publish(f"{prefix}/sensor/sbx2/config", {"name": "Sbx2", "stat_t": topic})
    await wait_until(
        lambda: hub.states.get("sensor.sbx2") and hub.states.get("sensor.sbx2").state == "x"
    )
    assert hub.states.get("sensor.sbx").state == "unknown"


async def test_retained_junk_on_the_broker_does_not_stop_the_hub_starting(
    start_hub: StartHub, device: FakeDevice, prefix: str
) -> None:
    await device.publish(f"{prefix}/sensor/junk1/config", "{{{{", retain=True)
    await device.publish(f"{prefix}/light/junk2/config", {"name": "No command"}, retain=True)
    await device.publish(
        f"{prefix}/sensor/fine/config", {"name": "Fine", "stat_t": f"{prefix}/fine"}, retain=True
    )
    hub = await start_hub()
    await wait_until(lambda: hub.states.get("sensor.fine"))
    discovery = runtime(hub).discovery
    await wait_until(lambda: discovery.ignored == 2)
    assert [d.entity_id for d in discovery.discovered()] == ["sensor.fine"]
