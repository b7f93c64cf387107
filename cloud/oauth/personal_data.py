"""OAuth data about an account: consents, the hubs it registered and the token families
of hubs and apps signed in with it. Deleting the account ends all of it.

Rows are deleted, not marked revoked: nothing of them may stay. A refresh token that comes
back afterwards finds no row and is refused like any unknown token; the hubs the account
registered are unregistered, so their client credentials stop working for everyone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts.models import LoginThrottle
from cloud.accounts.personal_data import DataSubject, PersonalDataHolder, iso, listing, plural
from cloud.oauth.models import AuthorizationCode, Consent, DeviceGrant, OAuthClient, OAuthToken


def _device_code_throttle_key(subject: DataSubject) -> str:
    # The key pages.py counts wrong device codes under.
    return f"device-code:user:{subject.user_id}"


async def _registered(session: AsyncSession, subject: DataSubject) -> list[OAuthClient]:
    return list(
        await session.scalars(
            select(OAuthClient)
            .where(col(OAuthClient.owner_user_id) == subject.user_id)
            .order_by(col(OAuthClient.created_at))
        )
    )


async def _token_rows(session: AsyncSession, subject: DataSubject) -> list[tuple[OAuthToken, str]]:
    rows = await session.execute(
        select(OAuthToken, col(OAuthClient.name))
        .join(OAuthClient, col(OAuthClient.client_id) == col(OAuthToken.client_id))
        .where(col(OAuthToken.user_id) == subject.user_id)
        .order_by(col(OAuthToken.issued_at))
    )
    return [(token, name) for token, name in rows.all()]


def _families(rows: list[tuple[OAuthToken, str]]) -> list[dict[str, Any]]:
    """One entry per sign-in (token family): who, what, since when, until when."""
    families: dict[str, dict[str, Any]] = {}
    for token, name in rows:
        family = families.setdefault(
            token.family_id,
            {
                "client_id": token.client_id,
                "client_name": name,
                "scope": token.scope,
                "signed_in_at": iso(token.issued_at),
                "tokens_issued": 0,
            },
        )
        family["tokens_issued"] += 1
        family["last_issued_at"] = iso(token.issued_at)
        family["refresh_expires_at"] = iso(token.refresh_expires_at)
        family["revoked_at"] = iso(token.revoked_at)
    return list(families.values())


async def export_oauth(session: AsyncSession, subject: DataSubject) -> dict[str, Any]:
    consents = await session.execute(
        select(Consent, col(OAuthClient.name))
        .join(OAuthClient, col(OAuthClient.client_id) == col(Consent.client_id))
        .where(col(Consent.user_id) == subject.user_id)
        .order_by(col(Consent.granted_at))
    )
    return {
        "consents": [
            {
                "client_id": consent.client_id,
                "client_name": name,
                "scope": consent.scope,
                "granted_at": iso(consent.granted_at),
            }
            for consent, name in consents.all()
        ],
        "hubs_registered": [
            {
                "client_id": client.client_id,
                "name": client.name,
                "redirect_uris": client.redirect_uri_list,
                "scope": client.scope,
                "registered_at": iso(client.created_at),
            }
            for client in await _registered(session, subject)
        ],
        "sign_ins": _families(await _token_rows(session, subject)),
    }


async def preview_oauth(session: AsyncSession, subject: DataSubject) -> list[str]:
    signed_in = sorted(
        {name for token, name in await _token_rows(session, subject) if token.revoked_at is None}
    )
    registered = [client.name for client in await _registered(session, subject)]
    lines = [
        f"Every hub and app signed in with your account is signed out and cannot refresh "
        f"its access: {listing(signed_in) if signed_in else 'none is signed in now'}."
    ]
    if registered:
        lines.append(
            f"{plural(len(registered), 'hub')} you linked to the store ({listing(registered)}) "
            "are unlinked: nobody can sign in through them until they are linked again."
        )
    return lines


async def erase_oauth(session: AsyncSession, subject: DataSubject) -> None:
    owned = [client.client_id for client in await _registered(session, subject)]
    for model in (OAuthToken, AuthorizationCode, DeviceGrant, Consent):
        user_column = col(model.user_id)
        client_column = col(model.client_id)
        await session.execute(
            delete(model).where(or_(user_column == subject.user_id, client_column.in_(owned)))
        )
    await session.execute(delete(OAuthClient).where(col(OAuthClient.client_id).in_(owned)))
    await session.execute(
        delete(LoginThrottle).where(col(LoginThrottle.key) == _device_code_throttle_key(subject))
    )


OAUTH_HOLDER = PersonalDataHolder(
    section="hubs_and_apps",
    columns=frozenset(
        {
            "oauth_clients.owner_user_id",
            "oauth_codes.user_id",
            "oauth_tokens.user_id",
            "oauth_device_grants.user_id",
            "oauth_consents.user_id",
        }
    ),
    export=export_oauth,
    preview=preview_oauth,
    erase=erase_oauth,
)
