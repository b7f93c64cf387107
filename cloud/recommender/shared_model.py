"""The trained model, shared through the database: the replica holding the training lease
trains and publishes; every other replica loads what was published instead of training.

Only the newest model is kept (a few hundred kilobytes, compressed NumPy arrays).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, LargeBinary, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from cloud.db import UTCDateTime, utcnow


class SharedModel(SQLModel, table=True):
    __tablename__ = "recommender_models"

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=200)  # what it was trained on (live_model.Fingerprint)
    trained_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    model: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


@dataclass(frozen=True)
class Published:
    id: int
    fingerprint: str
    trained_at: datetime


async def async_publish(session: AsyncSession, fingerprint: str, model: bytes) -> int:
    """Publish a newly trained model and forget the older ones; returns its id."""
    row = SharedModel(fingerprint=fingerprint, trained_at=utcnow(), model=model)
    session.add(row)
    await session.flush()
    assert row.id is not None
    await session.execute(delete(SharedModel).where(col(SharedModel.id) < row.id))
    return row.id


async def async_latest(session: AsyncSession) -> Published | None:
    """The newest published model's id and fingerprint (not its bytes: a cheap poll)."""
    row = (
        await session.execute(
            select(col(SharedModel.id), col(SharedModel.fingerprint), col(SharedModel.trained_at))
            .order_by(col(SharedModel.id).desc())
            .limit(1)
        )
    ).first()
    if row is None or row[0] is None:
        return None
    return Published(row[0], str(row[1]), row[2])


async def async_model_bytes(session: AsyncSession, model_id: int) -> bytes | None:
    return await session.scalar(
        select(col(SharedModel.model)).where(col(SharedModel.id) == model_id)
    )
