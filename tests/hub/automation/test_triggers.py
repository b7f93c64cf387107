"""Each trigger type on a running hub, with time driven by the test's clock."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.const import EVENT_HUB_STOP
from hub.core.core_config import clean_settings
from tests.support.waiting import wait_until


async def test_a_state_trigger_fires_on_the_change_it_names_and_nothing_else(start_home) -> None:
    home = await start_home(
        """
- id: door
  triggers:
    - trigger: state
      entity_id: binary_sensor.door
      from: "off"
      to: "on"
  actions:
    - action: test.record
      data: {to: "{{ trigger.to_state.state }}", was: "{{ trigger.from_state.state }}"}
"""
    )
    home.set("binary_sensor.door", "off")
    home.set("binary_sensor.door", "off", battery=80)  # attributes only
    home.set("binary_sensor.window", "on")  # another entity
    home.set("binary_sensor.door", "on")
    home.set("binary_sensor.door", "unavailable")
    await home.advance(0)
    assert home.calls.data() == [{"to": "on", "was": "off"}]


async def test_a_state_trigger_on_an_attribute(start_home) -> None:
    home = await start_home(
        """
- id: battery
  trigger:
    platform: state
    entity_id: sensor.remote
    attribute: battery
  action:
    service: test.record
    data: {battery: "{{ trigger.to_state.attributes.battery }}"}
"""
    )
    home.set("sensor.remote", "idle")
    home.set("sensor.remote", "idle", battery=90)
    await home.advance(0)
    home.set("sensor.remote", "pressed", battery=90)  # the state, not the attribute
    home.set("sensor.remote", "pressed", battery=85)
    await home.advance(0)
    assert home.calls.data() == [{"battery": 90}, {"battery": 85}]


async def test_for_fires_only_after_the_state_held_and_is_cancelled_when_it_does_not(
    start_home,
) -> None:
    home = await start_home(
        """
- id: vacant
  triggers:
    - trigger: state
      entity_id: binary_sensor.room
      to: "off"
      for: "00:05:00"
  actions:
    - action: test.record
"""
    )
    home.set("binary_sensor.room", "on")
    home.set("binary_sensor.room", "off")
    await home.advance(240)
    assert len(home.calls) == 0
    assert next(iter(home.engine.automations["vacant"].pending.values())).startswith(
        "binary_sensor.room changed from 'on' to 'off', waiting 5 min"
    )
    home.set("binary_sensor.room", "on")  # someone came back before five minutes
    await home.advance(600)
    assert len(home.calls) == 0
    home.set("binary_sensor.room", "off")
    await home.advance(299)
    assert len(home.calls) == 0
    await home.advance(1)
    assert len(home.calls) == 1
    assert home.last_trace("vacant").trigger.endswith("for 5 min")


async def test_a_numeric_state_trigger_fires_on_crossing_into_the_range(start_home) -> None:
    home = await start_home(
        """
- id: dark
  triggers:
    - trigger: numeric_state
      entity_id: sensor.lux
      below: 20
  actions:
    - action: test.record
      data: {lux: "{{ trigger.to_state.state }}"}
- id: hot
  triggers:
    - trigger: numeric_state
      entity_id: sensor.temperature
      above: sensor.limit
      for: {minutes: 2}
  actions:
    - action: test.record
      data: {hot: true}
"""
    )
    for lux in ("50", "15", "10", "unknown", "30", "5"):  # 10: already below, no firing
        home.set("sensor.lux", lux)
        await home.advance(0)
    home.set("sensor.limit", "25")
    home.set("sensor.temperature", "20")
    home.set("sensor.temperature", "26")
    await home.advance(60)
    home.set("sensor.temperature", "24")  # back under before two minutes
    await home.advance(120)
    home.set("sensor.temperature", "27")
    await home.advance(120)
    assert home.calls.data() == [{"lux": 15}, {"lux": 5}, {"hot": True}]


async def test_time_and_time_pattern_triggers_follow_the_clock(start_home) -> None:
    # The clock starts on Wednesday 10 June 2026, 10:00 UTC.
    home = await start_home(
        """
- id: morning
  triggers:
    - trigger: time
      at: "10:30:00"
      weekday: [wed, fri]
  actions:
    - action: test.record
      data: {what: "morning {{ trigger.now.strftime('%a') }}"}
- id: quarterly
  triggers:
    - trigger: time_pattern
      minutes: "/15"
  actions:
    - action: test.record
      data: {what: "{{ trigger.now.strftime('%H:%M:%S') }}"}
"""
    )
    await home.advance(3600)
    assert home.calls.data() == [
        {"what": "10:15:00"},
        {"what": "morning Wed"},
        {"what": "10:30:00"},
        {"what": "10:45:00"},
        {"what": "11:00:00"},
    ]
    await home.clock.async_advance_to(datetime(2026, 6, 12, 10, 31, tzinfo=UTC))
    mornings = [c for c in home.calls.data() if c["what"].startswith("morning")]
    assert mornings == [{"what": "morning Wed"}, {"what": "morning Fri"}]  # not Thursday


async def test_a_time_trigger_in_the_hubs_time_zone(start_home) -> None:
    home = await start_home(
        """
- id: paris
  triggers: [{trigger: time, at: "12:00"}]
  actions: [{action: test.record}]
""",
        time_zone="Europe/Paris",
    )
    # The clock starts at 10:00 UTC, noon in Paris (summer time): the next noon is tomorrow.
    await home.advance(86399)
    assert len(home.calls) == 0
    await home.advance(1)
    assert len(home.calls) == 1
    trace = home.last_trace("paris")
    assert trace.trigger == "time 12:00:00"
    assert trace.started == datetime(2026, 6, 11, 10, 0, tzinfo=UTC)


async def test_sun_triggers_use_the_hubs_location_and_offset(start_home) -> None:
    # London, 10 June 2026: sunset at about 21:17 BST; the offset moves it 30 min earlier.
    home = await start_home(
        """
- id: dusk
  triggers:
    - trigger: sun
      event: sunset
      offset: "-00:30:00"
  actions:
    - action: test.record
      data: {at: "{{ now().strftime('%H:%M') }}"}
""",
        latitude=51.5072,
        longitude=-0.1276,
        time_zone="Europe/London",
    )
    await home.advance(12 * 3600)
    [call] = home.calls.data()
    assert "20:44" <= call["at"] <= "20:49"  # the almanac's 21:17 less 30 minutes


async def test_sun_triggers_follow_the_place_saved_in_the_hubs_settings(start_home) -> None:
    # No place in the environment: the owner gives London in the set-up flow, and the
    # running automations follow (the settings document wins over the environment).
    home = await start_home(
        """
- id: dusk
  triggers:
    - trigger: sun
      event: sunset
  actions:
    - action: test.record
      data: {at: "{{ now().strftime('%H:%M') }}"}
""",
        time_zone="UTC",
    )
    assert home.engine.automations == {}  # refused: sun needs the hub's location
    await home.hub.core_config.async_update(
        clean_settings(
            {"latitude": "51.5072", "longitude": "-0.1276", "time_zone": "Europe/London"}
        )
    )
    await wait_until(lambda: "dusk" in home.engine.automations)
    await home.advance(12 * 3600)
    [call] = home.calls.data()
    assert "21:14" <= call["at"] <= "21:19"  # the almanac's 21:17, London time


async def test_event_and_hub_start_and_shutdown_triggers(start_home) -> None:
    home = await start_home(
        """
- id: doorbell
  triggers:
    - trigger: event
      event_type: doorbell_pressed
      event_data: {button: front}
  actions:
    - action: test.record
      data: {pressed: "{{ trigger.event.data.button }}"}
- id: lifecycle
  triggers:
    - trigger: homeassistant
      event: start
    - trigger: homeassistant
      event: shutdown
  actions:
    - action: test.record
      data: {hub: "{{ trigger.event }}"}
"""
    )
    home.hub.bus.async_fire("doorbell_pressed", {"button": "back"})
    home.hub.bus.async_fire("doorbell_pressed", {"button": "front", "extra": 1})
    await home.advance(0)
    assert home.calls.data() == [{"hub": "start"}, {"pressed": "front"}]
    home.hub.bus.async_fire(EVENT_HUB_STOP)
    await home.advance(0)
    assert home.calls.data()[-1] == {"hub": "shutdown"}


async def test_presence_triggers_say_occupied_for_and_vacant_for(start_home) -> None:
    home = await start_home(
        """
- id: occupied
  triggers:
    - trigger: presence
      entity_id: binary_sensor.office_occupancy
      to: occupied
      for: 10
  actions: [{action: test.record, data: {room: occupied}}]
- id: vacant
  triggers:
    - trigger: presence
      entity_id: binary_sensor.office_occupancy
      to: vacant
      for: {minutes: 3}
  actions: [{action: test.record, data: {room: vacant}}]
"""
    )
    home.set("binary_sensor.office_occupancy", "off")
    home.set("binary_sensor.office_occupancy", "on")
    await home.advance(5)
    home.set("binary_sensor.office_occupancy", "off")  # a flicker: neither fires
    await home.advance(60)
    home.set("binary_sensor.office_occupancy", "on")
    await home.advance(10)
    home.set("binary_sensor.office_occupancy", "off")
    await home.advance(180)
    assert home.calls.data() == [{"room": "occupied"}, {"room": "vacant"}]
    assert home.last_trace("vacant").trigger == "binary_sensor.office_occupancy vacant for 3 min"


async def test_a_time_trigger_follows_a_time_entity_and_a_timestamp_sensor(start_home) -> None:
    home = await start_home(
        """
- id: alarm
  triggers:
    - trigger: time
      at: [input_datetime.wake_up, sensor.next_alarm]
  actions: [{action: test.record, data: {at: "{{ trigger.at }}"}}]
"""
    )
    home.set("input_datetime.wake_up", "10:05:00")
    home.set("sensor.next_alarm", "2026-06-10T10:20:00+00:00")
    await home.advance(600)
    home.set("input_datetime.wake_up", "10:15:00")  # moved: follows the entity
    await home.advance(1200)
    assert home.calls.data() == [
        {"at": "input_datetime.wake_up"},
        {"at": "input_datetime.wake_up"},
        {"at": "sensor.next_alarm"},
    ]
