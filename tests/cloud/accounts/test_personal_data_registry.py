"""The registry's guard: a personal-looking column no holder claims is reported."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

from cloud.accounts.personal_data import (
    DataSubject,
    PersonalDataHolder,
    PersonalDataRegistry,
    unclaimed_columns,
)


async def _nothing(_session: object, _subject: DataSubject) -> list[str]:
    return []


def _holder(section: str, *columns: str) -> PersonalDataHolder:
    return PersonalDataHolder(
        section=section,
        columns=frozenset(columns),
        export=_nothing,
        preview=_nothing,
        erase=_nothing,
    )


def _tables() -> MetaData:
    metadata = MetaData()
    Table("users", metadata, Column("id", Integer, primary_key=True), Column("email", String))
    Table(
        "gift_notes",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("sender", Integer, ForeignKey("users.id")),  # a link to a user, any name
        Column("recipient_address", String),
        Column("sealed_message", String),
        Column("sku", String),
    )
    return metadata


def test_unclaimed_personal_columns_are_named_until_a_holder_claims_them() -> None:
    registry = PersonalDataRegistry()
    registry.register(_holder("account", "users.email"))

    assert unclaimed_columns(_tables(), registry) == [
        "gift_notes.recipient_address",
        "gift_notes.sealed_message",
        "gift_notes.sender",
    ]

    registry.register(
        _holder(
            "gifts",
            "gift_notes.sender",
            "gift_notes.recipient_address",
            "gift_notes.sealed_message",
        )
    )
    assert unclaimed_columns(_tables(), registry) == []


def test_a_section_is_registered_once() -> None:
    registry = PersonalDataRegistry()
    registry.register(_holder("orders"))
    with pytest.raises(ValueError, match="orders"):
        registry.register(_holder("orders"))
