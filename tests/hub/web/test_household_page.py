"""The household page: the owner sees everyone, removes people (their sessions end at
once) and hands ownership over; members cannot do any of it."""

from __future__ import annotations

import asyncio
import re

from tests.hub.web.conftest import SignedIn, second_browser

ROW = re.compile(r'<tr data-user-id="(\d+)" data-role="(\w+)">\s*<td>([^<]+)')


async def _people(signed: SignedIn) -> dict[str, tuple[str, str]]:
    page = await signed.client.get("/users")
    assert page.status == 200
    return {name.strip(): (user_id, role) for user_id, role, name in ROW.findall(await page.text())}


async def test_the_owner_lists_people_with_their_roles(owner: SignedIn) -> None:
    async with second_browser(owner, "member-sub", "Max") as member:
        assert await _people(owner) == {
            "Olivia": (str(owner.principal.user_id), "owner"),
            "Max": (str(member.principal.user_id), "member"),
        }
        assert (await member.client.get("/users")).status == 403
        assert 'id="nav-users"' in await (await owner.client.get("/devices")).text()
        assert 'id="nav-users"' not in await (await member.client.get("/devices")).text()


async def test_a_removed_member_is_signed_out_everywhere_at_once(owner: SignedIn) -> None:
    async with second_browser(owner, "member-sub", "Max") as member:
        assert (await member.client.get("/api/states")).status == 200
        live = await member.client.get("/api/stream")
        assert (await live.content.readline()).startswith(b"retry:")
        removed = await owner.client.post(
            f"/users/{member.principal.user_id}/remove", data=owner.form(), allow_redirects=False
        )
        assert removed.status == 303
        # The open live stream ends too (a deadline only guards against hanging).
        await asyncio.wait_for(live.content.read(), 10)
        assert live.content.at_eof()
        assert (await member.client.get("/api/states")).status == 401
        page = await member.client.get("/devices", allow_redirects=False)
        assert page.status == 302 and page.headers["Location"].startswith("/auth/login")
        assert "Max" not in await _people(owner)


async def test_nobody_removes_the_owner_or_themselves(owner: SignedIn) -> None:
    async with second_browser(owner, "member-sub", "Max") as member:
        own = owner.principal.user_id
        refused = await owner.client.post(f"/users/{own}/remove", data=owner.form())
        assert refused.status == 403 and "make someone else owner" in await refused.text()
        by_member = await member.client.post(f"/users/{own}/remove", data=member.form())
        assert by_member.status == 403
        assert (await owner.client.get("/api/states")).status == 200
        missing = await owner.client.post("/users/999/remove", data=owner.form())
        assert missing.status == 404


async def test_the_owner_hands_ownership_to_a_member(owner: SignedIn) -> None:
    async with second_browser(owner, "member-sub", "Max") as member:
        member_id = member.principal.user_id
        handed = await owner.client.post(
            f"/users/{member_id}/make-owner", data=owner.form(), allow_redirects=False
        )
        assert handed.status == 303
        assert (await owner.client.get("/users")).status == 403  # a member now
        people = await _people(member)
        assert people["Max"] == (str(member_id), "owner")
        assert people["Olivia"][1] == "member"
        # The new owner can remove the former one; a member cannot take ownership back.
        grab = await owner.client.post(f"/users/{member_id}/make-owner", data=owner.form())
        assert grab.status == 403


async def test_invitations_are_listed_and_can_be_cancelled(owner: SignedIn) -> None:
    sent = await owner.client.post(
        "/users/invitations", data=owner.form(email="  Guest@Example.ORG ")
    )
    page = await sent.text()
    assert sent.status == 200 and "guest@example.org" in page
    invitation_id = re.search(r'data-invitation-id="(\d+)"', page).group(1)  # type: ignore[union-attr]
    bad = await owner.client.post("/users/invitations", data=owner.form(email="not an address"))
    assert bad.status == 400 and "does not look like an email" in await bad.text()
    again = await owner.client.post(
        "/users/invitations", data=owner.form(email="owner-sub@example.test")
    )
    assert again.status == 400 and "already a member" in await again.text()
    cancelled = await owner.client.post(
        f"/users/invitations/{invitation_id}/cancel", data=owner.form()
    )
    assert cancelled.status == 200 and "guest@example.org" not in await cancelled.text()
