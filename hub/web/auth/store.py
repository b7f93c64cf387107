"""The hub's people, their sessions, the owner's invitations and each person's kept grant:
one JSON document (``auth``), held in memory and written whole when it changes.

Every change that matters for who gets in (admission, removal, sign-out, a rotated grant) is
on disk before the caller goes on; pruning what expired is written later, with the next
change. Using a session writes nothing: a request costs no disk write.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, TypeVar

from hub.const import AUTH_STORAGE_KEY
from hub.core.callback import callback
from hub.core.models import row_from_json, row_to_json
from hub.core.storage import DocumentStore
from hub.web.auth.const import ROLE_OWNER
from hub.web.auth.models import HubInvitationRow, HubSessionRow, HubUserGrantRow, HubUserRow

_LOGGER = logging.getLogger(__name__)
STORAGE_VERSION = 1
PRUNE_SAVE_DELAY_S = 60.0
R = TypeVar("R")


def _rows(data: dict[str, Any], name: str, cls: type[R]) -> list[R]:
    return [row_from_json(cls, raw) for raw in data.get(name, [])]


class AuthStore:
    """In memory for every request; the document on disk follows each change."""

    def __init__(self, storage: DocumentStore) -> None:
        self._document = storage.document(AUTH_STORAGE_KEY, STORAGE_VERSION)
        self.users: dict[int, HubUserRow] = {}
        self.sessions: dict[str, HubSessionRow] = {}  # by token hash
        self.invitations: dict[int, HubInvitationRow] = {}
        self.grants: dict[int, HubUserGrantRow] = {}  # by user id
        # Ids are never reused: a removed person's id must not name someone new.
        self._next_user_id = 1
        self._next_invitation_id = 1

    async def async_load(self) -> None:
        data = await self._document.async_load() or {}
        self.users = {row.id: row for row in _rows(data, "users", HubUserRow)}
        self.sessions = {row.token_hash: row for row in _rows(data, "sessions", HubSessionRow)}
        self.invitations = {row.id: row for row in _rows(data, "invitations", HubInvitationRow)}
        self.grants = {row.user_id: row for row in _rows(data, "grants", HubUserGrantRow)}
        # An upgraded hub's document has no counters: continue after the highest id.
        self._next_user_id = data.get("next_user_id") or max(self.users, default=0) + 1
        self._next_invitation_id = (
            data.get("next_invitation_id") or max(self.invitations, default=0) + 1
        )

    def _snapshot(self) -> dict[str, Any]:
        return {
            "users": [row_to_json(row) for row in self.users.values()],
            "sessions": [row_to_json(row) for row in self.sessions.values()],
            "invitations": [row_to_json(row) for row in self.invitations.values()],
            "grants": [row_to_json(row) for row in self.grants.values()],
            "next_user_id": self._next_user_id,
            "next_invitation_id": self._next_invitation_id,
        }

    async def async_save(self) -> None:
        """Write the document now (returns once it is on disk, or reported as not written)."""
        await self._document.async_save(self._snapshot)

    @callback
    def async_save_later(self) -> None:
        self._document.async_delay_save(self._snapshot, PRUNE_SAVE_DELAY_S)

    def new_user_id(self) -> int:
        self._next_user_id += 1
        return self._next_user_id - 1

    def new_invitation_id(self) -> int:
        self._next_invitation_id += 1
        return self._next_invitation_id - 1

    def user_by_subject(self, subject: str) -> HubUserRow | None:
        return next((u for u in self.users.values() if u.subject == subject), None)

    def owner(self) -> HubUserRow | None:
        return next((u for u in self.users.values() if u.role == ROLE_OWNER), None)

    def end_access(self, user_id: int) -> int:
        """End a person's sessions, offline credential and kept grant (in memory: the
        caller saves); the count of sessions ended."""
        ended = [h for h, s in self.sessions.items() if s.user_id == user_id]
        for token_hash in ended:
            del self.sessions[token_hash]
        self.grants.pop(user_id, None)
        user = self.users.get(user_id)
        if user is not None:
            user.offline_token_hash, user.offline_until = None, None
        return len(ended)

    def forget_expired_invitations(self, now: datetime | None = None) -> None:
        moment = now or datetime.now(UTC)
        expired = [i for i, row in self.invitations.items() if row.expires_at <= moment]
        for invitation_id in expired:
            del self.invitations[invitation_id]
        if expired:
            self.async_save_later()
