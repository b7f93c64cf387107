"""The /remote page: the owner's switch and ticks (persisted), turning remote access off
(retained snapshot cleared, the store told), members' rights, CSRF."""

from __future__ import annotations

from pathlib import Path

from tests.hub.common import async_written_document
from tests.hub.ethos_remote.conftest import HEATER, PLUG
from tests.hub.ethos_remote.home import RemoteHome
from tests.hub.web.conftest import sign_in
from tests.support.waiting import wait_until


async def test_sharing_is_kept_in_the_hub_document(remote_home: RemoteHome) -> None:
    home = remote_home
    page = await (await home.client.get("/remote")).text()
    assert f'value="{PLUG}"' in page and f'value="{HEATER}"' in page  # grouped: kitchen
    assert "Kitchen" in page
    await home.share(PLUG, "not an entity id!")
    written = await async_written_document(home.hub, "ethos_remote.sharing")
    assert written["enabled"] is True
    assert written["entity_ids"] == [PLUG]


async def test_turning_off_clears_the_retained_snapshot_and_tells_the_store(
    remote_home: RemoteHome,
) -> None:
    home = remote_home
    await home.share(PLUG)
    await home.wait_connected()
    async with home.browser(await home.pairing_code()) as phone:
        await wait_until(lambda: phone.latest_snapshot() is not None)
        await home.share(PLUG, enabled=False)
        state_topic = f"ethos-home/{home.hub_id}/state"
        await wait_until(lambda: phone.listener.on(state_topic)[-1].payload == b"")
        await wait_until(lambda: home.store.sessions[-1] == {"enabled": False, "members": []})
        assert home.remote.uplink is None
        assert 'data-status="off"' in await (await home.client.get("/remote")).text()


async def test_members_pair_their_own_browsers_but_do_not_change_sharing(
    remote_home: RemoteHome, tmp_path: Path
) -> None:
    home = remote_home
    await home.share(PLUG)
    await home.wait_connected()
    async with home.browser(await home.pairing_code(), "Owner's phone"):
        await sign_in(home.client, "member-sub", "Max")  # the client is Max's browser now
        csrf = await home.csrf()
        page = await (await home.client.get("/remote")).text()
        assert "Owner&#39;s phone" not in page and "Owner's phone" not in page
        assert 'id="remote-enabled"' not in page  # no sharing form for a member
        refused = await home.client.post(
            "/remote/sharing", data={"csrf": csrf, "enabled": "on"}, allow_redirects=False
        )
        assert refused.status == 403
        assert home.remote.sharing.entity_ids == frozenset({PLUG})
        owners_browser = (await home.remote.async_keys()).browsers()[0].browser_id
        removal = await home.client.post(
            f"/remote/browsers/{owners_browser}/remove", data={"csrf": csrf}
        )
        assert removal.status == 403
        async with home.browser(await home.pairing_code(), "Max's laptop") as laptop:
            page = await (await home.client.get("/remote")).text()
            assert laptop.browser.browser_id in page
            no_csrf = await home.client.post(
                f"/remote/browsers/{laptop.browser.browser_id}/remove", allow_redirects=False
            )
            assert no_csrf.status == 403
            mine = await home.client.post(
                f"/remote/browsers/{laptop.browser.browser_id}/remove",
                data={"csrf": csrf},
                allow_redirects=False,
            )
            assert mine.status == 303
            assert [b.name for b in (await home.remote.async_keys()).browsers()] == [
                "Owner's phone"
            ]


async def test_the_navigation_bar_offers_remote_access_when_it_is_loaded(
    remote_home: RemoteHome,
) -> None:
    html = await (await remote_home.client.get("/")).text()
    assert '<a href="/remote" id="nav-remote">Remote access</a>' in html
    assert (await remote_home.client.get("/remote")).status == 200
