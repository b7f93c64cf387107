"""The hubs an account linked to the store (the OAuth clients it registered), and
unlinking one: its client, and with it every token, code, device grant and consent it
holds, so nobody can sign in through it or refresh anything it was given.

Other areas that keep rights of a hub (remote access) register an unlink hook; it runs in
the same transaction, before the client goes. No aiohttp here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.domain import Refusal
from cloud.oauth.models import AuthorizationCode, Consent, DeviceGrant, OAuthClient, OAuthToken

_LOGGER = logging.getLogger(__name__)

# Called with the transaction and the hub's client id, before the client is deleted.
HubUnlinkHook = Callable[[AsyncSession, str], Awaitable[None]]

NOT_A_LINKED_HUB = Refusal("not_found", "There is no such hub linked to your account.", 404)


async def registered_hubs(session: AsyncSession, user_id: int) -> list[OAuthClient]:
    """The hubs this account linked (registered), oldest first."""
    return list(
        await session.scalars(
            select(OAuthClient)
            .where(
                col(OAuthClient.owner_user_id) == user_id,
                col(OAuthClient.first_party).is_(False),
            )
            .order_by(col(OAuthClient.created_at), col(OAuthClient.client_id))
        )
    )


async def linked_hub(
    session: AsyncSession, client_id: str, *, lock: bool = False
) -> OAuthClient | None:
    """A registered hub's client (never a first-party app), locked when asked, or None."""
    query = select(OAuthClient).where(
        col(OAuthClient.client_id) == client_id, col(OAuthClient.first_party).is_(False)
    )
    return await session.scalar(query.with_for_update() if lock else query)


def can_unlink_hub(client: OAuthClient | None) -> Refusal | None:
    """Side-effect free: a hub someone registered can be unlinked (by them: the Authorizer
    decides who); a first-party app or an unknown client cannot."""
    if client is None or client.first_party or client.owner_user_id is None:
        return NOT_A_LINKED_HUB
    return None


async def unlink_hub(
    session: AsyncSession, client: OAuthClient, hooks: tuple[HubUnlinkHook, ...] = ()
) -> None:
    """Unlink the hub in the caller's transaction: the hooks first, then its grants, then
    its client. Its credentials and every token it holds stop working at commit."""
    if refusal := can_unlink_hub(client):
        raise ValueError(refusal.message)
    client_id = client.client_id
    for hook in hooks:
        await hook(session, client_id)
    for model in (OAuthToken, AuthorizationCode, DeviceGrant, Consent):
        await session.execute(delete(model).where(col(model.client_id) == client_id))
    await session.execute(delete(OAuthClient).where(col(OAuthClient.client_id) == client_id))
    _LOGGER.info("hub %s unlinked by its owner %s", client_id, client.owner_user_id)
