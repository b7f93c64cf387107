"""Modes (single, restart, queued, parallel with max), the loop throttle, and a restart
that cancels pending `for:` timers and says so."""

from __future__ import annotations

import pytest

from hub.core.errors import ServiceValidationError
from hub.core.hub import Hub
from hub.integrations.automation import ManualClock, automation_engine
from hub.integrations.automation import trace as outcome
from hub.integrations.automation.const import DATA_CLOCK, LOOP_MAX_RUNS


def _slow(mode: str, extra: str = "") -> str:
    return f"""
- id: slow
  mode: {mode}
{extra}  triggers: [{{trigger: event, event_type: go}}]
  actions:
    - action: test.record
      data: {{n: "{{{{ trigger.event.data.n }}}}", at: start}}
    - delay: 10
    - action: test.record
      data: {{n: "{{{{ trigger.event.data.n }}}}", at: end}}
"""


async def _go_three_times(home) -> None:
    for n in (1, 2, 3):
        home.hub.bus.async_fire("go", {"n": n})
        await home.advance(1)
    await home.advance(60)


@pytest.mark.parametrize(
    ("mode", "extra", "expected"),
    [
        ("single", "", ["1 start", "1 end"]),
        ("restart", "", ["1 start", "2 start", "3 start", "3 end"]),
        (
            "queued",
            "  max: 2\n",
            ["1 start", "1 end", "2 start", "2 end"],
        ),
        (
            "parallel",
            "  max: 2\n",
            ["1 start", "2 start", "1 end", "2 end"],
        ),
    ],
)
async def test_modes(start_home, mode: str, extra: str, expected: list[str]) -> None:
    home = await start_home(_slow(mode, extra))
    await _go_three_times(home)
    assert [f"{c['n']} {c['at']}" for c in home.calls.data()] == expected
    reasons = [t.reason for t in home.traces("slow") if t.outcome == outcome.NOT_STARTED]
    if mode == "single":
        assert reasons == ["already running (mode single)"] * 2
    if mode == "restart":
        cancelled = [t for t in home.traces("slow") if t.outcome == outcome.CANCELLED]
        assert [t.reason for t in cancelled] == ["restarted by a new trigger (mode restart)"] * 2
    if mode == "queued":
        assert reasons == ["queue full (max 2)"]
    if mode == "parallel":
        assert reasons == ["2 runs already (max 2)"]


async def test_an_automation_that_triggers_itself_is_throttled_and_flagged(start_home) -> None:
    home = await start_home(
        """
- id: ping_pong
  mode: queued
  triggers: [{trigger: state, entity_id: input_boolean.flip}]
  actions:
    - action: test.record
    - event: flip_requested
- id: flipper
  mode: parallel
  max: 100
  triggers: [{trigger: event, event_type: flip_requested}]
  actions:
    - action: test.record
      data: {flip: true}
- id: bystander
  triggers: [{trigger: event, event_type: go}]
  actions: [{action: test.record, data: {bystander: true}}]
"""
    )

    def flip(_event) -> None:
        state = home.hub.states.get("input_boolean.flip")
        home.set("input_boolean.flip", "on" if state is None or state.state == "off" else "off")

    home.hub.bus.async_listen("flip_requested", flip)  # the device obeys at once: a loop
    home.set("input_boolean.flip", "on")
    for _ in range(200):
        await home.advance(0)
    automation = home.engine.automations["ping_pong"]
    assert automation.loop_flag is not None and "looks like a loop" in automation.loop_flag
    runs = len([c for c in home.calls.data() if c == {}])
    assert runs == LOOP_MAX_RUNS - 1  # the one that would have made it LOOP_MAX_RUNS did not
    throttled = home.last_trace("ping_pong")
    assert throttled.outcome == outcome.NOT_STARTED and throttled.reason.startswith("throttled")
    assert any("throttled" in n.title for n in home.engine.notifications)
    home.hub.bus.async_fire("go")  # others keep working
    await home.advance(0)
    assert home.calls.data()[-1] == {"bystander": True}
    await home.advance(11)  # after the pause it may run again
    flip(None)
    await home.advance(0)
    assert len([c for c in home.calls.data() if c == {}]) > runs


async def test_a_restart_cancels_pending_for_timers_and_says_so(
    tmp_path, start_home, clock
) -> None:
    yaml = """
- id: vacant
  triggers:
    - trigger: state
      entity_id: binary_sensor.room
      to: "off"
      for: {minutes: 10}
  actions: [{action: test.record}]
"""
    home = await start_home(yaml)
    home.set("binary_sensor.room", "on")
    home.set("binary_sensor.room", "off")
    await home.advance(60)
    await home.hub.async_stop()

    hub = Hub(home.hub.config)  # the hub comes back: the timer did not survive
    hub.data[DATA_CLOCK] = ManualClock(clock.now())
    await hub.async_start()
    try:
        engine = automation_engine(hub)
        trace = engine.traces.of("vacant")[-1]
        assert trace.outcome == outcome.CANCELLED
        assert trace.reason == "the hub stopped: pending for: timers were cancelled"
        assert trace.notes == [
            "cancelled: binary_sensor.room changed from 'on' to 'off', waiting 10 min "
            "(due 10:10:00)"
        ]
    finally:
        await hub.async_stop()


async def test_the_automation_services_and_entities(start_home) -> None:
    home = await start_home(
        """
- id: porch
  alias: Porch
  triggers: [{trigger: event, event_type: go}]
  conditions: [{condition: state, entity_id: input_boolean.never, state: "on"}]
  actions:
    - action: persistent_notification.create
      data: {message: hello, notification_id: porch}
"""
    )
    services = home.hub.services
    assert home.hub.states.get("automation.porch").state == "on"
    await services.async_call("automation", "turn_off", {"entity_id": "automation.porch"})
    assert home.hub.states.get("automation.porch").state == "off"
    home.hub.bus.async_fire("go")
    await home.advance(0)
    assert home.traces("porch") == []  # off: triggers are not even listened to
    await services.async_call("automation", "trigger", {"entity_id": "automation.porch"})
    await home.advance(0)
    assert [n.id for n in home.engine.notifications] == ["porch"]  # conditions skipped
    await services.async_call("persistent_notification", "dismiss", {"notification_id": "porch"})
    assert list(home.engine.notifications) == []
    await services.async_call("automation", "turn_on", {"entity_id": "automation.porch"})
    assert home.hub.states.get("automation.porch").attributes["last_triggered"] is not None
    with pytest.raises(ServiceValidationError):
        await services.async_call("automation", "trigger", {"entity_id": "automation.nope"})
