"""automations.yaml: Home Assistant automations loading unchanged, problems with file and
line, an invalid automation beside working ones, reloads, and round-trip edits that keep
what people wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.integrations.automation.schema import Invalid
from hub.integrations.automation.yaml_file import FileProblem
from tests.hub.automation.common import write_automations

HOME_ASSISTANT = (Path(__file__).parent / "home_assistant_automations.yaml").read_text()

COMMENTED = """\
# My automations. Keep this comment.
- id: porch
  alias: Porch light   # named after the old porch
  triggers:
    - trigger: event
      event_type: go  # the doorbell's event
  actions:
    - action: test.record
      data:
        greeting: hello  # said at the door

# The garden one, written by hand.
- id: garden
  alias: Garden
  triggers: [{trigger: event, event_type: garden}]
  actions: [{action: test.record}]
"""


async def test_home_assistant_automations_load_unchanged(start_home) -> None:
    home = await start_home(
        HOME_ASSISTANT, latitude=48.85, longitude=2.35, time_zone="Europe/Paris"
    )
    assert home.engine.invalid == []
    assert home.engine.file_problem is None
    assert len(home.engine.automations) == 7
    hallway = home.engine.automations["1700000000001"]
    assert hallway.alias == "Hallway motion light" and hallway.mode == "restart"
    assert home.hub.states.get(hallway.entity_id).state == "on"
    # The start automation ran at start: its notification is shown.
    await home.advance(5)
    assert [n.message for n in home.engine.notifications] == ["Hub is up"]


async def test_an_invalid_automation_is_listed_with_its_line_and_the_others_run(
    start_home,
) -> None:
    home = await start_home(
        """
- id: good
  triggers: [{trigger: event, event_type: go}]
  actions: [{action: test.record}]
- id: wrong_types
  mode: sometimes
  triggers: [{trigger: event, event_type: go}]
  actions: [{action: test.record}]
- id: unknown_trigger
  triggers:
    - trigger: geo_location
      source: nowhere
  actions: [{action: test.record}]
- id: bad_template
  triggers: [{trigger: event, event_type: go}]
  actions:
    - action: test.record
      data: {x: "{{ 1 + }}"}
- id: bad_duration
  triggers:
    - trigger: state
      entity_id: light.a
      for: soon
  actions: [{action: test.record}]
- id: secret
  triggers: [{trigger: mqtt, topic: a/b}]
  actions:
    - action: test.record
      data:
        password: !secret door_code
"""
    )
    found = {i.id: (i.where, i.message) for i in home.engine.invalid}
    assert found["wrong_types"] == (
        "automations.yaml, line 6",
        "mode must be one of single, restart, queued, parallel",
    )
    assert found["unknown_trigger"][0] == "automations.yaml, line 11"
    assert "unknown or unsupported trigger 'geo_location'" in found["unknown_trigger"][1]
    assert found["bad_template"][0] == "automations.yaml, line 17"  # its action
    assert "broken template" in found["bad_template"][1]
    assert found["bad_duration"] == (
        "automations.yaml, line 23",
        "trigger 1 (state) for must be a duration like 00:05:00 or {minutes: 5}",
    )
    assert found["secret"] == (
        "automations.yaml, line 30",
        "YAML tags such as !secret are not supported",
    )
    home.hub.bus.async_fire("go")
    await home.advance(0)
    assert len(home.calls) == 1


async def test_malformed_yaml_keeps_the_running_automations_and_names_the_line(
    start_home,
) -> None:
    home = await start_home(COMMENTED)
    write_automations(home.hub.config.hub_dir, COMMENTED + "- id: broken\n  alias: [unclosed\n")
    problem = await home.engine.async_reload("Olivia")
    assert isinstance(problem, FileProblem)
    assert problem.file == "automations.yaml" and problem.line == 19
    assert home.engine.file_problem == problem
    assert set(home.engine.automations) == {"porch", "garden"}
    home.hub.bus.async_fire("garden")
    await home.advance(0)
    assert len(home.calls) == 1


async def test_reload_picks_up_changes_without_a_restart(start_home) -> None:
    home = await start_home(COMMENTED)
    write_automations(
        home.hub.config.hub_dir,
        COMMENTED.replace("event_type: garden", "event_type: lawn"),
    )
    await home.hub.services.async_call("automation", "reload")
    home.hub.bus.async_fire("garden")
    home.hub.bus.async_fire("lawn")
    await home.advance(0)
    assert len(home.calls) == 1
    assert home.engine.edits.recent()[0].action == "reloaded"


async def test_a_form_edit_keeps_comments_and_formatting_of_untouched_blocks(start_home) -> None:
    home = await start_home(COMMENTED)
    garden = {
        "id": "garden",
        "alias": "Garden at night",
        "triggers": [{"trigger": "event", "event_type": "garden"}],
        "actions": [{"action": "test.record"}],
    }
    await home.engine.async_save("garden", garden, "Olivia (owner-sub)")
    text = home.engine.file.path.read_text()
    porch_block = COMMENTED.split("# The garden one")[0]
    assert text.startswith(porch_block)  # the porch block, byte for byte
    assert "# The garden one, written by hand." in text
    assert "alias: Garden at night" in text
    assert "triggers: [{trigger: event, event_type: garden}]" in text  # unchanged key kept
    assert home.engine.automations["garden"].alias == "Garden at night"
    edit = home.engine.edits.recent()[0]
    assert (edit.who, edit.action, edit.automation_id) == (
        "Olivia (owner-sub)",
        "updated",
        "garden",
    )


async def test_the_yaml_view_saves_its_own_comments_and_refuses_bad_input(start_home) -> None:
    home = await start_home(COMMENTED)
    block = home.engine.block_yaml("porch")
    assert "# the doorbell's event" in block and "# said at the door" in block
    changed = block.replace("greeting: hello", "greeting: welcome  # friendlier")
    await home.engine.async_save("porch", changed, "Olivia")
    text = home.engine.file.path.read_text()
    assert "greeting: welcome  # friendlier" in text
    assert "# My automations. Keep this comment." in text and "# the doorbell's event" in text

    before = home.engine.file.path.read_text()
    with pytest.raises(FileProblem) as bad_yaml:
        await home.engine.async_save("porch", "id: porch\nalias: [oops\n", "Olivia")
    assert bad_yaml.value.line == 3
    with pytest.raises(Invalid) as wrong:
        await home.engine.async_save("porch", block.replace("mode", "x") + "mode: 7\n", "Olivia")
    assert wrong.value.message == "mode must be one of single, restart, queued, parallel"
    with pytest.raises(Invalid):
        await home.engine.async_save("porch", block.replace("id: porch", "id: garden"), "Olivia")
    assert home.engine.file.path.read_text() == before  # nothing half-written


async def test_create_and_delete_are_recorded(start_home) -> None:
    home = await start_home(COMMENTED)
    new_id = await home.engine.async_save(
        None,
        {
            "alias": "New one",
            "triggers": [{"trigger": "event", "event_type": "new"}],
            "actions": [{"action": "test.record"}],
        },
        "Olivia",
    )
    assert new_id in home.engine.automations
    await home.engine.async_delete("garden", "Milo")
    assert set(home.engine.automations) == {"porch", new_id}
    assert "# My automations. Keep this comment." in home.engine.file.path.read_text()
    assert [(e.who, e.action) for e in home.engine.edits.recent()] == [
        ("Milo", "deleted"),
        ("Olivia", "created"),
    ]


async def test_an_automation_written_without_an_id_can_be_edited(start_home) -> None:
    home = await start_home(
        COMMENTED
        + """
- alias: No id
  triggers: [{trigger: event, event_type: anonymous}]
  actions: [{action: test.record}]
"""
    )
    assert "automation_3" in home.engine.automations
    block = home.engine.block_yaml("automation_3")
    assert block.startswith("alias: No id")
    await home.engine.async_save("automation_3", block.replace("No id", "Named now"), "Olivia")
    assert home.engine.automations["automation_3"].alias == "Named now"
    assert "id: 'automation_3'" in home.engine.file.path.read_text()
