"""The hub's people as remote access needs them: who is a member (their store subjects go
to the store) and whether a person may control devices (the hub's Authorizer decides).

The people live in the web UI's ``auth`` document; its ``setup_web`` hands remote access an
object with this shape (``DATA_MEMBERS``), so this integration never imports the web UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Member:
    user_id: int
    subject: str  # the store account (OIDC ``sub``)
    name: str
    is_owner: bool


class Members(Protocol):
    def members(self) -> list[Member]:
        """Everyone on the hub now."""

    def member(self, user_id: int) -> Member | None:
        """The person, or None once they were removed."""

    def control_refusal(self, user_id: int) -> str | None:
        """Why this person may not control devices (the Authorizer's answer), or None."""
