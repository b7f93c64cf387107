"""Each action type, run by a real trigger, with its steps in the trace."""

from __future__ import annotations

import pytest

from hub.integrations.automation import trace as outcome


def _automation(actions: str, extra: str = "") -> str:
    return f"""
- id: script
  triggers: [{{trigger: event, event_type: go}}]
{extra}  actions:
{actions}
"""


async def _go(home, **data) -> None:
    home.hub.bus.async_fire("go", data)
    await home.advance(0)


async def test_service_calls_with_target_data_and_templates(start_home) -> None:
    home = await start_home(
        _automation(
            """    - action: light.turn_on
      target:
        entity_id: ["light.hall", "{{ 'light.' ~ trigger.event.data.room }}"]
      data:
        brightness: "{{ 40 + 2 }}"
        transition: 2
    - service: test.record
      entity_id: light.hall
      data_template:
        note: "{{ states('light.kitchen') }}"
"""
        )
    )
    home.set("light.hall", "off")
    home.set("light.kitchen", "off")
    await _go(home, room="kitchen")
    on = home.calls.data("turn_on")
    assert on == [{"brightness": 42, "transition": 2, "entity_id": ["light.hall", "light.kitchen"]}]
    assert home.calls.data() == [{"note": "on", "entity_id": ["light.hall"]}]
    steps = home.last_trace("script").steps
    assert [s.result for s in steps] == [
        "called light.turn_on on light.hall, light.kitchen",
        "called test.record on light.hall",
    ]


async def test_delay_variables_event_and_the_hub_notification(start_home) -> None:
    home = await start_home(
        _automation(
            """    - variables:
        minutes: 2
        greeting: "hello {{ trigger.event.data.who }}"
    - delay: {minutes: "{{ minutes }}"}
    - event: greeted
      event_data: {text: "{{ greeting }}"}
    - action: persistent_notification.create
      data:
        title: Door
        message: "{{ greeting }} after {{ minutes }} minutes"
""",
            extra="  variables: {who_default: nobody}\n",
        )
    )
    seen: list[dict] = []
    home.hub.bus.async_listen("greeted", lambda e: seen.append(dict(e.data)))
    await _go(home, who="Ada")
    await home.advance(119)
    assert seen == []
    await home.advance(1)
    assert seen == [{"text": "hello Ada"}]
    [note] = home.engine.notifications
    assert (note.title, note.message) == ("Door", "hello Ada after 2 minutes")
    trace = home.last_trace("script")
    assert [s.kind for s in trace.steps] == ["variables", "delay", "event", "service"]
    assert trace.steps[0].variables == {"minutes": 2, "greeting": "hello Ada"}
    assert trace.steps[1].seconds == 120 and trace.steps[1].result == "waited 2 min"


async def test_wait_for_trigger_continues_on_the_trigger_or_times_out(start_home) -> None:
    home = await start_home(
        _automation(
            """    - wait_for_trigger:
        - trigger: state
          entity_id: binary_sensor.door
          to: "on"
      timeout: "00:00:30"
      continue_on_timeout: false
    - action: test.record
      data: {door: "{{ wait.trigger.to_state.state }}"}
"""
        )
    )
    home.set("binary_sensor.door", "off")
    await _go(home)
    await home.advance(10)
    home.set("binary_sensor.door", "on")
    await home.advance(0)
    assert home.calls.data() == [{"door": "on"}]
    home.set("binary_sensor.door", "off")
    await _go(home)
    await home.advance(31)
    assert len(home.calls) == 1
    trace = home.last_trace("script")
    assert trace.outcome == outcome.STOPPED
    assert trace.reason == "gave up waiting after 30 s (timeout)"


async def test_wait_template_and_continue_on_timeout(start_home) -> None:
    home = await start_home(
        _automation(
            """    - wait_template: "{{ is_state('lock.front', 'locked') }}"
      timeout: 60
    - action: test.record
      data: {completed: "{{ wait.completed }}"}
"""
        )
    )
    home.set("lock.front", "unlocked")
    await _go(home)
    await home.advance(61)
    await _go(home)
    home.set("lock.front", "locked")
    await home.advance(0)
    assert home.calls.data() == [{"completed": False}, {"completed": True}]


async def test_choose_and_if_then_else(start_home) -> None:
    home = await start_home(
        _automation(
            """    - choose:
        - conditions: "{{ trigger.event.data.n == 1 }}"
          sequence: [{action: test.record, data: {chose: one}}]
        - conditions:
            - condition: template
              value_template: "{{ trigger.event.data.n == 2 }}"
          sequence: [{action: test.record, data: {chose: two}}]
      default: [{action: test.record, data: {chose: default}}]
    - if: "{{ trigger.event.data.n > 1 }}"
      then: [{action: test.record, data: {big: true}}]
      else: [{action: test.record, data: {big: false}}]
"""
        )
    )
    for n in (1, 2, 3):
        await _go(home, n=n)
    assert home.calls.data() == [
        {"chose": "one"},
        {"big": False},
        {"chose": "two"},
        {"big": True},
        {"chose": "default"},
        {"big": True},
    ]
    assert [s.result for s in home.last_trace("script").steps if s.path in ("1", "2")] == [
        "chose the default",
        "conditions true: ran then",
    ]


async def test_repeat_count_while_until_and_for_each(start_home) -> None:
    home = await start_home(
        _automation(
            """    - repeat:
        count: 3
        sequence: [{action: test.record, data: {count: "{{ repeat.index }}"}}]
    - repeat:
        while: "{{ repeat.index <= 2 }}"
        sequence: [{action: test.record, data: {while: "{{ repeat.index }}"}}]
    - repeat:
        until: "{{ repeat.index == 2 }}"
        sequence: [{action: test.record, data: {until: "{{ repeat.index }}"}}]
    - repeat:
        for_each: [red, green]
        sequence: [{action: test.record, data: {item: "{{ repeat.item }}"}}]
"""
        )
    )
    await _go(home)
    assert home.calls.data() == [
        {"count": 1},
        {"count": 2},
        {"count": 3},
        {"while": 1},
        {"while": 2},
        {"until": 1},
        {"until": 2},
        {"item": "red"},
        {"item": "green"},
    ]


async def test_parallel_branches_run_side_by_side(start_home) -> None:
    home = await start_home(
        _automation(
            """    - parallel:
        - sequence:
            - delay: 10
            - action: test.record
              data: {branch: slow}
        - action: test.record
          data: {branch: fast}
"""
        )
    )
    await _go(home)
    assert home.calls.data() == [{"branch": "fast"}]
    await home.advance(10)
    assert home.calls.data() == [{"branch": "fast"}, {"branch": "slow"}]


async def test_stop_ends_the_run_and_a_condition_step_stops_quietly(start_home) -> None:
    home = await start_home(
        _automation(
            """    - action: test.record
      data: {step: 1}
    - condition: state
      entity_id: input_boolean.go_on
      state: "on"
    - action: test.record
      data: {step: 2}
    - stop: Nothing more to do
      error: "{{ false }}"
    - action: test.record
      data: {step: 3}
"""
        )
    )
    home.set("input_boolean.go_on", "off")
    await _go(home)
    assert home.last_trace("script").reason == "condition 2 is false"
    home.set("input_boolean.go_on", "on")
    await _go(home)
    assert home.calls.data() == [{"step": 1}, {"step": 1}, {"step": 2}]
    trace = home.last_trace("script")
    assert (trace.outcome, trace.reason) == (outcome.STOPPED, "Nothing more to do")


async def test_a_failing_step_stops_only_its_run_unless_continue_on_error(
    start_home, caplog: pytest.LogCaptureFixture
) -> None:
    home = await start_home(
        """
- id: fragile
  triggers: [{trigger: event, event_type: go}]
  actions:
    - action: test.fail
    - action: test.record
      data: {after: failure}
- id: sturdy
  triggers: [{trigger: event, event_type: go}]
  actions:
    - action: test.fail
      continue_on_error: true
    - action: test.record
      data: {after: tolerated}
- id: template_error
  triggers: [{trigger: event, event_type: go}]
  actions:
    - action: test.record
      data: {value: "{{ trigger.event.data.missing.deeper }}"}
"""
    )
    await _go(home)
    assert home.calls.data() == [{"after": "tolerated"}]
    fragile = home.last_trace("fragile")
    assert (fragile.outcome, fragile.reason) == (
        outcome.ERROR,
        "step 1: the device said no",
    )
    sturdy = home.last_trace("sturdy")
    assert sturdy.outcome == outcome.FINISHED and sturdy.steps[0].error == "the device said no"
    broken = home.last_trace("template_error")
    assert broken.outcome == outcome.ERROR and "missing" in broken.reason
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert "Automation fragile: step 1: the device said no" in logged
    assert any(m.startswith("Automation template_error: step 1:") for m in logged)
    await _go(home)  # every automation still runs afterwards
    assert home.calls.data() == [{"after": "tolerated"}, {"after": "tolerated"}]


async def test_unknown_entities_and_services_fail_the_run_with_a_clear_error(start_home) -> None:
    home = await start_home(
        """
- id: typo
  triggers: [{trigger: event, event_type: go}]
  actions:
    - action: light.turn_on
      target: {entity_id: light.hal}
- id: nothing_there
  triggers: [{trigger: event, event_type: go}]
  actions:
    - action: vacuum.start
"""
    )
    automation = home.engine.automations["typo"]
    assert home.engine.warnings(automation) == ["unknown entity light.hal"]
    assert home.engine.warnings(home.engine.automations["nothing_there"]) == [
        "unknown service vacuum.start"
    ]
    await _go(home)
    assert home.last_trace("typo").reason == "step 1: unknown entity light.hal"
    assert home.last_trace("nothing_there").reason == "step 1: unknown service vacuum.start"
