"""Ending every OAuth grant of one account at once, when its password is reset or changed.

Rows are marked, never deleted: a revoked refresh token that comes back is still
recognised (and refused) by the refresh grant's reuse detection, and housekeeping
(`store.purge_expired`) forgets them when they would have expired anyway.
"""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.db import affected_rows, utcnow
from cloud.oauth.models import AuthorizationCode, DeviceGrant, OAuthToken

_LOGGER = logging.getLogger(__name__)


async def revoke_all_for_user(session: AsyncSession, user_id: int) -> None:
    """Revoke every token family of the account (access and refresh tokens, rotated ones
    included), spend its unused authorization codes and deny its approved device codes
    that were not yet picked up. Remembered consents stay: they grant nothing without a
    new sign-in."""
    now = utcnow()
    tokens = await session.execute(
        update(OAuthToken)
        .where(col(OAuthToken.user_id) == user_id, col(OAuthToken.revoked_at).is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    codes = await session.execute(
        update(AuthorizationCode)
        .where(col(AuthorizationCode.user_id) == user_id, col(AuthorizationCode.used_at).is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    # A grant the account approved but the device has not redeemed yet: its next poll
    # gets `access_denied` instead of tokens.
    grants = await session.execute(
        update(DeviceGrant)
        .where(col(DeviceGrant.user_id) == user_id, col(DeviceGrant.consumed_at).is_(None))
        .values(approved=False)
        .execution_options(synchronize_session=False)
    )
    _LOGGER.info(
        "account %s: %d token rows revoked, %d codes spent, %d device grants denied",
        user_id,
        affected_rows(tokens),
        affected_rows(codes),
        affected_rows(grants),
    )
