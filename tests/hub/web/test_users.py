"""People and sessions in the hub's auth document: roles, expiry, the offline sign-in window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.web.auth.const import OFFLINE_GRACE
from hub.web.auth.store import AuthStore
from hub.web.auth.users import UserStore, hash_token
from tests.hub.common import make_config, running_hub


async def test_offline_credential_and_sessions_expire(tmp_path: Path) -> None:
    async with running_hub(make_config(tmp_path)) as hub:
        auth = AuthStore(hub.storage)
        await auth.async_load()
        users = UserStore(auth)
        owner = await users.async_upsert_from_claims("sub-1", "a@example.test", "Ann")
        member = await users.async_upsert_from_claims("sub-2", "b@example.test", "Ben")
        assert (owner.role, member.role) == ("owner", "member")

        credential, until = await users.async_issue_offline_credential(owner)
        assert until - datetime.now(UTC) <= OFFLINE_GRACE
        assert (await users.async_user_for_offline_credential(credential)).subject == "sub-1"
        assert await users.async_user_for_offline_credential(credential + "x") is None
        assert (
            await users.async_user_for_offline_credential(f"{member.id}.{credential.split('.')[1]}")
            is None
        )
        assert await users.async_user_for_offline_credential("garbage") is None

        past = datetime.now(UTC) - timedelta(seconds=1)
        auth.users[owner.id].offline_until = past  # time passes
        assert await users.async_user_for_offline_credential(credential) is None

        new = await users.async_create_session(member, offline=True)
        principal = await users.async_principal_for(new.token)
        assert principal is not None and principal.offline and principal.role == "member"
        assert new.expires_at - datetime.now(UTC) <= timedelta(hours=12)
        auth.sessions[hash_token(new.token)].expires_at = past
        assert await users.async_principal_for(new.token) is None
        await users.async_set_role(member.id, "owner")
        assert [u.role for u in await users.async_users()] == ["owner", "owner"]
