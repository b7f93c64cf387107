"""Revocation: deleting an account (a member's, or the one that registered the hub) closes
the broker connections that lose their rights once the deletion commits; the sweep closes
any connection whose subject has no rights left."""

from __future__ import annotations

import json

import pytest

from cloud.remote.runtime import REMOTE
from cloud.web.keys import DB
from tests.cloud.remote.conftest import (
    broker_token,
    delete_account,
    hub_session,
    new_person,
    remote_rows,
    user_id_of,
)
from tests.support.waiting import wait_until


async def test_deleting_a_members_account_disconnects_them(
    provider, http, signed_in, hub, broker_admin, unique_id
):
    owner = str(await user_id_of(provider, signed_in))
    member, member_sub = await new_person(provider, f"member-{unique_id}@example.org", hub)
    await hub_session(provider, http, hub, owner, member_sub)
    try:
        await delete_account(member)
    finally:
        await member.aclose()
    await wait_until(lambda: f"user-{member_sub}" in broker_admin.disconnected)
    assert broker_admin.disconnected == [f"user-{member_sub}"]
    assert await remote_rows(provider) == (1, 1)  # the owner stays let in


async def test_deleting_the_hubs_registrant_unlinks_it_and_disconnects_everyone(
    provider, http, browser, signed_in, hub, broker_admin, unique_id
):
    owner = str(await user_id_of(provider, signed_in))
    member, member_sub = await new_person(provider, f"member-{unique_id}@example.org", hub)
    await hub_session(provider, http, hub, owner, member_sub)
    await delete_account(browser)
    expected = {f"hub-{hub.client_id}", f"user-{owner}", f"user-{member_sub}"}
    await wait_until(lambda: set(broker_admin.disconnected) == expected)
    assert await remote_rows(provider) == (0, 0)
    answer = await broker_token(member)
    assert answer.json()["homes"] == []
    await member.aclose()


async def test_a_deletion_refused_disconnects_nobody(
    provider, http, browser, signed_in, hub, broker_admin
):
    owner = str(await user_id_of(provider, signed_in))
    await hub_session(provider, http, hub, owner)
    page = await browser.http.get("/account/delete")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    refused = await browser.http.post(
        "/account/delete", data={"password": "not my password", "csrf_token": csrf}
    )
    assert refused.status_code == 401
    await provider.app[REMOTE].async_idle()
    assert broker_admin.disconnected == []
    assert await remote_rows(provider) == (1, 1)


async def test_the_sweep_closes_connections_without_rights(
    provider, http, signed_in, hub, broker_admin, unique_id
):
    owner = str(await user_id_of(provider, signed_in))
    _, gone_sub = await new_person(provider, f"gone-{unique_id}@example.org", hub)
    await hub_session(provider, http, hub, owner)
    broker_admin.connected = {
        f"hub-{hub.client_id}",
        f"user-{owner}",
        f"user-{gone_sub}",  # let in by no hub
        "hub-0123456789abcdef0123456789abcdef",  # no such hub
        "guest",  # not a subject of ours
    }
    closed = await provider.app[REMOTE].async_sweep_once(provider.app[DB])
    assert closed == {f"user-{gone_sub}", "hub-0123456789abcdef0123456789abcdef"}
    assert broker_admin.connected == {f"hub-{hub.client_id}", f"user-{owner}", "guest"}


@pytest.mark.parametrize("sweep_seconds", [0.05])
async def test_the_sweep_runs_as_a_once_only_job(provider, http, broker_admin, sweep_seconds):
    broker_admin.connected = {"user-424242"}
    await wait_until(lambda: "user-424242" in broker_admin.disconnected, timeout=20)
    metrics = await http.get(provider.base_url + "/metrics")
    assert "remote-sweep" in metrics.text, json.dumps(metrics.text[:200])
