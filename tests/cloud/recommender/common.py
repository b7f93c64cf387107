"""A small hand-made catalog and purchase history shared by the recommender tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloud.recommender.records import CatalogItem, Purchase

START = datetime(2026, 1, 1, tzinfo=UTC)


def item(
    sku: str, category: str, privacy: float, openness: float, environment: float, *tags: str
) -> CatalogItem:
    return CatalogItem(
        sku=sku,
        category=category,
        tags=tags,
        scores=(privacy, openness, environment),
        name=f"{category} {sku}",
    )


def catalog_entry(sku: str, category: str, privacy: int, openness: int, environment: int) -> dict:
    """A product as the store catalog JSON has it."""
    return {
        "sku": sku,
        "name": f"Ethos {category}",
        "description": "…",
        "price": "49.00",
        "currency": "EUR",
        "category": category,
        "tags": ["matter", "local-only"],
        "scores": {
            "privacy": {"score": privacy, "reason": "no cloud"},
            "openness": {"score": openness, "reason": "open firmware"},
            "environment": {"score": environment, "reason": "repairable"},
        },
    }


def purchases(*rows: tuple[str, str]) -> list[Purchase]:
    """(user, sku) rows in time order, one day apart."""
    return [
        Purchase(user_id=user, sku=sku, purchased_at=START + timedelta(days=day))
        for day, (user, sku) in enumerate(rows)
    ]


# Starter kits: whoever buys a hub also buys a presence detector and a plug.
KIT_CATALOG = [
    item("HUB-1", "hub", 8, 8, 6),
    item("PRE-1", "presence", 9, 9, 7),
    item("PLG-1", "plug", 6, 7, 8),
    item("BLB-1", "bulb", 5, 5, 9),
    item("BLB-2", "bulb", 2, 2, 3),
    item("SEN-1", "sensor", 7, 4, 6),
]


def kit_purchases(users: int = 8) -> list[Purchase]:
    rows: list[tuple[str, str]] = []
    for number in range(users):
        user = f"kit-{number}"
        rows += [(user, "HUB-1"), (user, "PRE-1"), (user, "PLG-1")]
    rows += [("bulb-fan", "BLB-2"), ("bulb-fan-2", "BLB-2"), ("bulb-fan-2", "SEN-1")]
    return purchases(*rows)
