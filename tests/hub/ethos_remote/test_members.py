"""A person removed from the hub loses remote access at once: their browsers' commands are
refused, the household key rotates for the others, and the store hears the new members."""

from __future__ import annotations

from tests.hub.ethos_remote.conftest import PLUG
from tests.hub.ethos_remote.home import RemoteHome
from tests.hub.web.conftest import sign_in
from tests.support.waiting import wait_until


async def test_removed_member_is_refused_and_the_key_rotates(remote_home: RemoteHome) -> None:
    home = remote_home
    await home.share(PLUG)
    await home.wait_connected()
    async with home.browser(await home.pairing_code(), "Owner's phone") as phone:
        first_kid = phone.browser.household.kid
        max_ = await sign_in(home.client, "member-sub", "Max")
        async with home.browser(await home.pairing_code(), "Max's laptop") as laptop:
            await wait_until(
                lambda: home.store.sessions[-1]["members"] == ["member-sub", "owner-sub"]
            )
            allowed = await laptop.send(PLUG, "switch.turn_on")
            assert (await laptop.reply_to(allowed))["ok"] is True

            owner = await sign_in(home.client, "owner-sub", "Olivia")
            removed = await home.client.post(
                f"/users/{max_.user_id}/remove",
                data={"csrf": owner.csrf_token},
                allow_redirects=False,
            )
            assert removed.status == 303
            await wait_until(lambda: laptop.keys_payloads()[-1] == b"")  # Max's key cleared
            await wait_until(lambda: home.store.sessions[-1]["members"] == ["owner-sub"])
            await wait_until(lambda: len(phone.keys_payloads()) >= 2)
            assert phone.take_latest_keys() not in (None, first_kid)  # a new household key

            refused = await laptop.send(PLUG, "switch.turn_off")  # under the old key
            gate = home.remote.uplink.gate
            await wait_until(lambda: gate.refused >= 1)
            assert home.hub.states.get(PLUG).state == "on"
            assert all(r["id"] != refused for r in laptop.replies())
            # The owner's browser goes on under the new key.
            still = await phone.send(PLUG, "switch.turn_off")
            assert (await phone.reply_to(still))["ok"] is True
            assert [b.name for b in (await home.remote.async_keys()).browsers()] == [
                "Owner's phone"
            ]
