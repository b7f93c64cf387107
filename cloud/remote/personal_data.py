"""Remote access in "download my data" and account deletion: the homes that let the account
in, and the remote switch of the hubs it registered. Deleting the account forgets both and
closes the broker connections that lose their rights once the deletion has committed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.personal_data import DataSubject, PersonalDataHolder, iso, listing, plural
from cloud.oauth.models import OAuthClient
from cloud.remote import service
from cloud.remote.models import RemoteHub, RemoteMember
from cloud.remote.runtime import RemoteRuntime

SECTION = "remote_access"


async def _let_in_by(session: AsyncSession, user_id: int) -> list[tuple[str, str, bool]]:
    rows = await session.execute(
        select(col(OAuthClient.client_id), col(OAuthClient.name), col(RemoteHub.enabled))
        .join(RemoteHub, col(RemoteHub.client_id) == col(OAuthClient.client_id))
        .join(RemoteMember, col(RemoteMember.client_id) == col(RemoteHub.client_id))
        .where(col(RemoteMember.user_id) == user_id)
        .order_by(col(OAuthClient.name))
    )
    return [(client_id, name, enabled) for client_id, name, enabled in rows.all()]


async def _registered_hubs(session: AsyncSession, user_id: int) -> list[tuple[OAuthClient, Any]]:
    rows = await session.execute(
        select(OAuthClient, RemoteHub)
        .join(RemoteHub, col(RemoteHub.client_id) == col(OAuthClient.client_id))
        .where(col(OAuthClient.owner_user_id) == user_id)
        .order_by(col(OAuthClient.created_at))
    )
    return [(client, hub) for client, hub in rows.all()]


async def export_remote(session: AsyncSession, subject: DataSubject) -> dict[str, Any]:
    return {
        "homes_letting_you_in": [
            {"hub": client_id, "name": name, "remote_access_on": enabled}
            for client_id, name, enabled in await _let_in_by(session, subject.user_id)
        ],
        "your_hubs": [
            {
                "hub": client.client_id,
                "name": client.name,
                "remote_access_on": hub.enabled,
                "changed_at": iso(hub.updated_at),
            }
            for client, hub in await _registered_hubs(session, subject.user_id)
        ],
    }


async def preview_remote(session: AsyncSession, subject: DataSubject) -> list[str]:
    homes = [name for _, name, enabled in await _let_in_by(session, subject.user_id) if enabled]
    if not homes:
        return []
    return [f"You can no longer reach {plural(len(homes), 'home')} from away ({listing(homes)})."]


def remote_holder(runtime: RemoteRuntime) -> PersonalDataHolder:
    async def erase_remote(session: AsyncSession, subject: DataSubject) -> None:
        lost = await service.forget_account(session, subject.user_id)
        runtime.disconnect_after_commit(session, lost)

    return PersonalDataHolder(
        section=SECTION,
        columns=frozenset({"remote_members.user_id"}),
        export=export_remote,
        preview=preview_remote,
        erase=erase_remote,
    )
