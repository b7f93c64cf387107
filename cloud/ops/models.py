"""The lease table: which replica runs each once-only job, until when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cloud.db import UTCDateTime


class JobLease(SQLModel, table=True):
    __tablename__ = "job_leases"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(default="", max_length=200)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    acquired_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
