"""Remote access in "download my data" and in the deletion preview."""

from __future__ import annotations

import json

from tests.cloud.remote.conftest import hub_session, new_person, user_id_of


async def test_the_export_and_the_preview_name_the_homes(
    provider, http, browser, signed_in, hub, unique_id
):
    owner = str(await user_id_of(provider, signed_in))
    member, member_sub = await new_person(provider, f"member-{unique_id}@example.org", hub)
    await hub_session(provider, http, hub, owner, member_sub)
    try:
        export = json.loads((await member.http.get("/account/export")).text)
        assert export["remote_access"]["homes_letting_you_in"] == [
            {"hub": hub.client_id, "name": "Living room hub", "remote_access_on": True}
        ]
        preview = (await member.http.get("/account/delete")).text
        assert "You can no longer reach 1 home from away (Living room hub)." in preview
    finally:
        await member.aclose()
    owners = json.loads((await browser.http.get("/account/export")).text)
    assert [hub_["hub"] for hub_ in owners["remote_access"]["your_hubs"]] == [hub.client_id]
