"""Remote-access tables: a hub's remote switch, and the store accounts it lets in.

A hub is its registered OAuth client: unlinking it (deleting the client) deletes both rows
by cascade; deleting an account deletes its memberships the same way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cloud.db import UTCDateTime, utcnow


class RemoteHub(SQLModel, table=True):
    """A hub that asked for remote access (its last answer: on or off)."""

    __tablename__ = "remote_hubs"

    client_id: str = Field(
        primary_key=True, max_length=64, foreign_key="oauth_clients.client_id", ondelete="CASCADE"
    )
    enabled: bool = Field(default=False)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class RemoteMember(SQLModel, table=True):
    """A store account the hub lets in remotely."""

    __tablename__ = "remote_members"

    client_id: str = Field(
        primary_key=True, max_length=64, foreign_key="remote_hubs.client_id", ondelete="CASCADE"
    )
    user_id: int = Field(primary_key=True, foreign_key="users.id", index=True, ondelete="CASCADE")
