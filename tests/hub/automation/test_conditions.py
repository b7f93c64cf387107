"""Each condition type, and the trace that says which condition stopped a run."""

from __future__ import annotations

from hub.integrations.automation import trace as outcome

DOORBELL = """
- id: check
  triggers: [{trigger: event, event_type: go}]
  conditions:
{conditions}
  actions: [{action: test.record}]
"""


async def _runs(home, times: int = 1) -> int:
    for _ in range(times):
        home.hub.bus.async_fire("go")
        await home.advance(0)
    return len(home.calls)


async def test_a_state_condition_and_why_it_did_not_run(start_home) -> None:
    home = await start_home(
        DOORBELL.replace(
            "{conditions}",
            """    - condition: state
      entity_id: light.hall
      state: "off"
      for: "00:01:00"
""",
        )
    )
    home.set("light.hall", "on")
    assert await _runs(home) == 0
    trace = home.last_trace("check")
    assert trace.outcome == outcome.CONDITION_FAILED
    assert trace.stopped_by is not None
    assert trace.reason == "condition 1 (state): light.hall is 'on', wanted 'off'"
    home.set("light.hall", "off")
    await home.advance(30)
    assert await _runs(home) == 0
    assert "for 30 s, not yet 1 min" in home.last_trace("check").reason
    await home.advance(30)
    assert await _runs(home) == 1
    assert home.last_trace("check").outcome == outcome.FINISHED


async def test_numeric_state_template_and_logic_conditions(start_home) -> None:
    home = await start_home(
        DOORBELL.replace(
            "{conditions}",
            """    - condition: numeric_state
      entity_id: sensor.lux
      below: 30
    - condition: or
      conditions:
        - condition: template
          value_template: "{{ states('sensor.mode') == 'evening' }}"
        - "{{ is_state('input_boolean.guest', 'on') }}"
    - not:
        - condition: state
          entity_id: binary_sensor.tv
          state: "on"
""",
        )
    )
    home.set("sensor.lux", "10")
    home.set("sensor.mode", "day")
    home.set("input_boolean.guest", "off")
    home.set("binary_sensor.tv", "off")
    assert await _runs(home) == 0
    assert home.last_trace("check").stopped_by.kind == "or"
    home.set("input_boolean.guest", "on")
    assert await _runs(home) == 1
    home.set("binary_sensor.tv", "on")
    assert await _runs(home) == 1
    assert home.last_trace("check").stopped_by.kind == "not"
    home.set("binary_sensor.tv", "off")
    home.set("sensor.lux", "45")
    assert await _runs(home) == 1
    assert home.last_trace("check").reason == (
        "condition 1 (numeric_state): sensor.lux is 45, not below 30.0"
    )


async def test_time_conditions_with_weekdays_and_over_midnight(start_home) -> None:
    # The clock starts on Wednesday 10:00 UTC (the hub is on UTC here).
    home = await start_home(
        """
- id: office_hours
  triggers: [{trigger: event, event_type: go}]
  conditions:
    - condition: time
      after: "09:00"
      before: "17:30:00"
      weekday: [mon, tue, wed, thu, fri]
  actions: [{action: test.record, data: {which: office}}]
- id: night
  triggers: [{trigger: event, event_type: go}]
  conditions:
    - condition: time
      after: "22:00"
      before: "06:00"
  actions: [{action: test.record, data: {which: night}}]
"""
    )
    await _runs(home)
    await home.advance(14 * 3600)  # Thursday 00:00
    await _runs(home)
    await home.advance(3 * 86400 + 11 * 3600)  # Sunday 11:00
    await _runs(home)
    assert home.calls.data() == [{"which": "office"}, {"which": "night"}]
    assert home.last_trace("office_hours").reason.endswith("today is sun")


async def test_sun_condition_and_trigger_id_condition(start_home) -> None:
    home = await start_home(
        """
- id: after_dark
  triggers:
    - {trigger: event, event_type: go, id: go}
    - {trigger: event, event_type: other, id: other}
  conditions:
    - condition: trigger
      id: go
    - condition: sun
      after: sunset
  actions: [{action: test.record}]
""",
        latitude=51.5072,
        longitude=-0.1276,
        time_zone="Europe/London",
    )
    assert await _runs(home) == 0  # 11:00 in London
    assert "not after sunset" in home.last_trace("after_dark").reason
    await home.advance(11 * 3600)  # 22:00 in London
    home.hub.bus.async_fire("other")
    await home.advance(0)
    assert "trigger 'other' fired" in home.last_trace("after_dark").reason
    assert await _runs(home) == 1


async def test_a_sun_automation_is_invalid_without_a_location(start_home) -> None:
    home = await start_home(
        """
- id: dusk
  triggers: [{trigger: sun, event: sunset}]
  actions: [{action: test.record}]
"""
    )
    [invalid] = home.engine.invalid
    assert invalid.line == 3 and "ETHOS_HUB_LATITUDE" in invalid.message  # the trigger's line
