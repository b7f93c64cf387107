"""The automations pages with a signed-in owner and member: list, traces and "why didn't
it run?", run now, on/off, the form editor, the YAML view, bad input, who may edit."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from hub.core.hub import Hub
from hub.integrations.automation import automation_engine
from hub.web.app import create_app
from tests.hub.automation.common import Calls, write_automations
from tests.hub.common import make_config
from tests.hub.web.conftest import SignedIn, second_browser

AUTOMATIONS = """\
# Hand-written: keep me.
- id: hall
  alias: Hall light
  triggers:
    - trigger: state
      entity_id: binary_sensor.hall
      to: "on"
  conditions:
    - condition: state
      entity_id: input_boolean.guests
      state: "off"
  actions:
    - action: test.record  # logs the press
      data: {room: hall}
- id: broken
  alias: Broken one
  mode: often
  triggers: [{trigger: event, event_type: go}]
  actions: [{action: test.record}]
"""


@pytest.fixture
def hub_app(tmp_path: Path) -> web.Application:
    config = make_config(
        tmp_path, integrations=("automation",), time_zone="UTC", cloud_url="http://127.0.0.1:9"
    )
    write_automations(config.hub_dir, AUTOMATIONS)
    hub = Hub(config)
    Calls(hub)
    return create_app(config, hub)


async def _page(signed: SignedIn, path: str) -> str:
    answer = await signed.client.get(path)
    assert answer.status == 200, await answer.text()
    return await answer.text()


async def test_the_list_shows_state_invalid_ones_with_line_and_why_it_did_not_run(
    owner: SignedIn,
) -> None:
    hub = owner.hub
    page = await _page(owner, "/automations")
    assert 'id="automation-hall" data-enabled="on"' in page and "never" in page
    assert "automations.yaml, line 17: mode must be one of single" in page
    assert 'href="/automations" id="nav-automations"' in page

    hub.states.async_set("input_boolean.guests", "on")
    hub.states.async_set("binary_sensor.hall", "off")
    hub.states.async_set("binary_sensor.hall", "on")
    page = await _page(owner, "/automations/hall")
    assert 'id="why-not"' in page
    assert "binary_sensor.hall changed from &#39;off&#39; to &#39;on&#39;" in page
    assert "condition 1 (state)</strong> stopped it: input_boolean.guests is &#39;on&#39;" in page

    answer = await owner.client.post(
        "/automations/hall/run", data=owner.form(), allow_redirects=True
    )
    page = await answer.text()
    assert 'id="why-ran"' in page and "run now by Olivia" in page
    assert 'id="trace-steps"' in page and "called test.record" in page
    assert "data = {&#39;room&#39;: &#39;hall&#39;}" in page  # the data the step sent


async def test_on_off_and_reload_are_recorded_with_who(owner: SignedIn) -> None:
    engine = automation_engine(owner.hub)
    await owner.client.post("/automations/hall/toggle", data=owner.form(enabled="no"))
    assert not engine.automations["hall"].enabled
    assert owner.hub.states.get("automation.hall").state == "off"
    await owner.client.post("/automations/reload", data=owner.form())
    assert not engine.automations["hall"].enabled  # on/off survives a reload
    page = await _page(owner, "/automations")
    assert "Olivia (owner-sub@example.test) turned off “Hall light”" in page
    assert "Olivia (owner-sub@example.test) reloaded" in page


async def test_the_form_creates_an_automation_with_pickers(owner: SignedIn) -> None:
    owner.hub.states.async_set("binary_sensor.office_occupancy", "off")
    page = await _page(owner, "/automations/new/edit")
    assert '<option value="binary_sensor.office_occupancy">' in page  # the entity picker
    assert '<option value="test.record">' in page  # the service picker
    form = owner.form(
        alias="Office",
        mode="restart",
        **{
            "trigger-0-kind": "presence",
            "trigger-0-entity_id": "binary_sensor.office_occupancy",
            "trigger-0-to": "occupied",
            "trigger-0-for": "00:00:10",
            "action-0-kind": "service",
            "action-0-action": "test.record",
            "action-0-data": "{room: office}",
        },
    )
    answer = await owner.client.post("/automations/new/edit", data=form, allow_redirects=False)
    assert answer.status == 303
    engine = automation_engine(owner.hub)
    created = next(a for a in engine.automations.values() if a.alias == "Office")
    assert answer.headers["Location"] == f"/automations/{created.id}"
    text = engine.file.path.read_text()
    assert text.startswith(AUTOMATIONS)  # appended; what was there is untouched
    assert "trigger: presence" in text

    # Changing a row's type shows that type's fields; nothing is saved meanwhile.
    before = engine.file.path.read_text()
    refreshed = await owner.client.post(
        f"/automations/{created.id}/edit",
        data=owner.form(alias="Office", refresh="1", **{"trigger-0-kind": "sun"}),
    )
    assert refreshed.status == 200
    assert 'name="trigger-0-event"' in await refreshed.text()
    assert engine.file.path.read_text() == before

    # Editing it again through the form keeps it as it was where nothing changed.
    page = await _page(owner, f"/automations/{created.id}/edit")
    assert 'value="binary_sensor.office_occupancy"' in page


async def test_bad_input_is_a_clear_400_and_nothing_is_written(owner: SignedIn) -> None:
    engine = automation_engine(owner.hub)
    before = engine.file.path.read_text()
    wrong_type = owner.form(
        alias="Wrong",
        **{
            "trigger-0-kind": "numeric_state",
            "trigger-0-entity_id": "sensor.lux",
            "trigger-0-above": "bright",
            "action-0-kind": "service",
            "action-0-action": "test.record",
        },
    )
    answer = await owner.client.post("/automations/new/edit", data=wrong_type)
    assert answer.status == 400
    assert "above must be a number or an entity id" in await answer.text()
    bad_yaml = await owner.client.post(
        "/automations/hall/yaml", data=owner.form(yaml="id: hall\ntriggers: [oops\n")
    )
    assert bad_yaml.status == 400 and "the YAML, line 3" in await bad_yaml.text()
    unknown = await owner.client.post(
        "/automations/hall/yaml",
        data=owner.form(yaml="triggers: [{trigger: teleport}]\nactions: [{action: test.record}]"),
    )
    assert unknown.status == 400 and "line 1: trigger 1: unknown or unsupported" in (
        await unknown.text()
    )
    too_big = await owner.client.post("/automations/hall/yaml", data=owner.form(yaml="x" * 70000))
    assert too_big.status == 400
    no_csrf = await owner.client.post("/automations/hall/yaml", data={"yaml": "id: hall"})
    assert no_csrf.status in (400, 403)
    assert (await owner.client.get("/automations/nope")).status == 404
    assert engine.file.path.read_text() == before
    assert set(engine.automations) == {"hall"}


async def test_the_yaml_view_shows_the_block_with_comments_and_saves_it(owner: SignedIn) -> None:
    page = await _page(owner, "/automations/hall/yaml")
    assert "action: test.record  # logs the press" in page
    engine = automation_engine(owner.hub)
    block = engine.block_yaml("hall")
    answer = await owner.client.post(
        "/automations/hall/yaml",
        data=owner.form(yaml=block.replace("room: hall", "room: hallway")),
        allow_redirects=False,
    )
    assert answer.status == 303
    text = engine.file.path.read_text()
    assert "# Hand-written: keep me." in text and "# logs the press" in text
    assert "room: hallway" in text
    assert "mode: often" in text  # the invalid block is left as it was


async def test_members_edit_only_when_the_owner_allows(owner: SignedIn) -> None:
    engine = automation_engine(owner.hub)
    async with second_browser(owner, "member-sub", "Milo") as member:
        page = await _page(member, "/automations")
        assert "Run now" not in page and "New automation" not in page
        refused = await member.client.post("/automations/hall/run", data=member.form())
        assert refused.status == 403
        assert (await member.client.get("/automations/new/edit")).status == 403

        page = await _page(owner, "/automations")
        assert 'id="editors"' in page and "Milo — may not edit" in page
        await owner.client.post(
            "/automations/editors", data=owner.form(subject="member-sub", allowed="yes")
        )
        assert "member-sub" in engine.editors
        answer = await member.client.post(
            "/automations/hall/toggle", data=member.form(enabled="no"), allow_redirects=False
        )
        assert answer.status == 303
        assert engine.edits.recent()[0].who == "Milo (member-sub@example.test)"
        # A member cannot hand the right to others.
        handed = await member.client.post(
            "/automations/editors", data=member.form(subject="owner-sub", allowed="yes")
        )
        assert handed.status == 403


async def test_a_template_error_at_run_time_shows_on_the_page(owner: SignedIn) -> None:
    text = (
        "alias: Fragile\n"
        "triggers: [{trigger: event, event_type: go}]\n"
        "actions:\n"
        "  - action: test.record\n"
        '    data: {x: "{{ trigger.event.data.missing.deeper }}"}\n'
    )
    answer = await owner.client.post(
        "/automations/new/yaml", data=owner.form(yaml=text), allow_redirects=False
    )
    assert answer.status == 303
    automation_id = answer.headers["Location"].rsplit("/", 1)[-1]
    owner.hub.bus.async_fire("go")
    page = await _page(owner, f"/automations/{automation_id}")
    assert 'data-outcome="error"' in page and "step 1:" in page and "missing" in page
    owner.hub.bus.async_fire("go")  # and it runs (and fails) again: nothing else stopped
    hall_page = await _page(owner, "/automations/hall")
    assert "Hall light" in hall_page
