"""A discovery template cannot make one message expensive: refused, logged once, shown."""

from __future__ import annotations

import gc
import logging
import tracemalloc

import pytest

from hub.core.hub import Hub
from tests.hub.mqtt.conftest import runtime
from tests.hub.mqtt.device import FakeDevice
from tests.support.waiting import wait_until

MIB = 1024 * 1024


def refusals(caplog: pytest.LogCaptureFixture, entity_id: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith(entity_id) and "refused" in r.getMessage()
    ]


async def test_a_huge_constant_in_a_discovered_template_is_refused_without_using_memory(
    hub: Hub, device: FakeDevice, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    topic = f"{prefix}/sensor/hostile/config"
    config = {
        "name": "Hostile",
        "stat_t": f"{prefix}/hostile",
        "val_tpl": "{{ 'x' * 300000000 }}",  # a 200-byte message asking for 300 MB
    }
    gc.collect()
    tracemalloc.start()
    try:
        with caplog.at_level(logging.WARNING):
            await device.publish(topic, config)
            await wait_until(lambda: hub.states.get("sensor.hostile"), timeout=30)
            await device.publish(f"{prefix}/hostile", "one")
            await device.publish(f"{prefix}/hostile", "two")
            await device.publish(f"{prefix}/sensor/after/config", {"name": "After"})
            await wait_until(lambda: hub.states.get("sensor.after"))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 8 * MIB  # the whole exchange, hub and in-process broker included
    state = hub.states.get("sensor.hostile")
    assert state.state == "unavailable"
    assert "value_template refused" in state.attributes["template_error"]
    assert "repeated value" in state.attributes["template_error"]
    logged = refusals(caplog, "sensor.hostile")
    assert len(logged) == 1  # once, not once per message
    assert "300000000 characters" in logged[0]


async def test_nested_loops_in_a_state_template_are_refused_and_shown_on_the_entity(
    hub: Hub, device: FakeDevice, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    loops = "{% for a in range(value|int) %}{% for b in range(value|int) %}{% endfor %}{% endfor %}"
    await device.publish(
        f"{prefix}/sensor/loops/config",
        {"name": "Loops", "stat_t": f"{prefix}/loops", "val_tpl": loops + "{{ value }}"},
    )
    await device.publish(
        f"{prefix}/sensor/plain/config",
        {"name": "Plain", "stat_t": f"{prefix}/loops", "val_tpl": "{{ value | int * 2 }}"},
    )
    await wait_until(lambda: hub.states.get("sensor.loops") and hub.states.get("sensor.plain"))
    await device.publish(f"{prefix}/loops", "3")
    await wait_until(lambda: hub.states.get("sensor.loops").state == "3")  # small: fine

    with caplog.at_level(logging.WARNING):
        await device.publish(f"{prefix}/loops", "3000")  # 9 million turns asked for
        await wait_until(lambda: hub.states.get("sensor.plain").state == "6000", timeout=60)
        await wait_until(lambda: hub.states.get("sensor.loops").state == "unavailable")
        await device.publish(f"{prefix}/loops", "4")
        await wait_until(lambda: hub.states.get("sensor.plain").state == "8")

    error = hub.states.get("sensor.loops").attributes["template_error"]
    assert error.startswith("value_template refused:")
    assert "loop turns" in error or "ms of CPU" in error
    assert hub.states.get("sensor.loops").state == "unavailable"  # stays refused
    assert len(refusals(caplog, "sensor.loops")) == 1


async def test_normal_templates_still_render(hub: Hub, device: FakeDevice, prefix: str) -> None:
    templates = {
        "rounded": "{{ value_json.ENERGY.Temperature | round(1) }}",
        "onoff": "{{ 'ON' if value_json.occupied else 'OFF' }}",
        "joined": "{{ value_json.list | join(',') }}",
        "looped": "{% for i in value_json.list %}{{ loop.index }}:{{ i }} {% endfor %}",
        "formatted": "{{ '%.2f' | format(value_json.ENERGY.Temperature * 2) }}",
        "methods": "{{ value_json.name.split('-')[1].upper() ~ '!' }}",
        "macro": "{% macro c(v) %}{{ (v * 9 / 5 + 32) | round(1) }}{% endmacro %}"
        "{{ c(value_json.ENERGY.Temperature) }}",
        "literal": "{{ [value_json.list | length, value_json.list | max] | join('/') }}",
    }
    for name, template in templates.items():
        await device.publish(
            f"{prefix}/sensor/{name}/config",
            {"name": name, "stat_t": f"{prefix}/normal", "val_tpl": template},
        )
    await wait_until(lambda: all(hub.states.get(f"sensor.{n}") for n in templates))
    await device.publish(
        f"{prefix}/normal",
        {"ENERGY": {"Temperature": 21.46}, "occupied": True, "list": [3, 1, 2], "name": "a-b"},
    )
    expected = {
        "rounded": "21.5",
        "onoff": "ON",
        "joined": "3,1,2",
        "looped": "1:3 2:1 3:2",
        "formatted": "42.92",
        "methods": "B!",
        "macro": "70.6",
        "literal": "3/3",
    }
    await wait_until(lambda: hub.states.get("sensor.literal").state == "3/3")
    assert {n: hub.states.get(f"sensor.{n}").state for n in templates} == expected
    assert not any("template_error" in hub.states.get(f"sensor.{n}").attributes for n in templates)


async def test_junk_configs_cannot_grow_the_compiled_templates_beyond_a_memory_bound(
    hub: Hub, prefix: str
) -> None:
    """300 configs each bring their own ~950-character template (and a broken one, so no
    entity is made): what the hub keeps of them stays within the template cache's bound."""
    discovery = runtime(hub).discovery

    def config(n: int) -> str:
        template = "{{ " + " + ".join(f"value_json.k{n}_{i}" for i in range(45)) + " }}"
        return (
            f'{{"name": "T{n}", "stat_t": "{prefix}/cache", "val_tpl": "{template}", '
            '"json_attr_tpl": "{{ broken"}'
        )

    await discovery.async_process_discovery_message(f"{prefix}/sensor/warm/config", config(-1))
    gc.collect()
    tracemalloc.start()
    try:
        before, _peak = tracemalloc.get_traced_memory()
        for n in range(300):
            await discovery.async_process_discovery_message(
                f"{prefix}/sensor/cache/t{n}/config", config(n)
            )
        gc.collect()
        after, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert discovery.ignored == 301 and discovery.discovered() == []
    assert after - before < 5 * MIB  # the cache's bound is 4 MiB
    assert discovery.templates.cache_bytes <= discovery.templates.cache_limit
