"""Registered clients kept in memory for a short while, for the token endpoint.

Every refresh authenticates its client; reading the same few rows again each time costs a
round trip for nothing. What is kept is the row itself (the secret only as its hash): the
secret is still compared in constant time on every request (`OAuthClient.check_client_secret`).
A client removed meanwhile takes its tokens with it (ON DELETE CASCADE), so a stale entry
can authenticate nothing that still exists; a changed client is read again within
`CLIENT_CACHE_SECONDS`. Unknown client ids are never kept, so the cache cannot be filled
with guesses, and it holds at most `CLIENT_CACHE_SIZE` entries.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.oauth.const import CLIENT_CACHE_SECONDS, CLIENT_CACHE_SIZE
from cloud.oauth.models import OAuthClient


class ClientCache:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        seconds: float = CLIENT_CACHE_SECONDS,
        size: int = CLIENT_CACHE_SIZE,
    ) -> None:
        self._sessions = sessions
        self._seconds = seconds
        self._size = size
        self._entries: OrderedDict[str, tuple[float, OAuthClient]] = OrderedDict()

    async def async_get(self, client_id: str) -> OAuthClient | None:
        now = time.monotonic()
        entry = self._entries.get(client_id)
        if entry is not None and now - entry[0] < self._seconds:
            return entry[1]
        async with self._sessions() as session:
            client = await session.get(OAuthClient, client_id)
        if client is None:
            self._entries.pop(client_id, None)
            return None
        self._entries[client_id] = (now, client)
        self._entries.move_to_end(client_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return client

    def forget(self, client_id: str) -> None:
        self._entries.pop(client_id, None)
