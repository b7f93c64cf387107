"""Catalog models. The JSON files in `data/` are validated against these at start-up."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")]
ETHICS_DIMENSIONS = ("privacy", "openness", "environment")


class EthicsScore(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    score: int = Field(ge=0, le=10, description="0 (worst) to 10 (best)")
    reason: str = Field(min_length=3, max_length=160, description="one line saying why")


class EthicsScores(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    privacy: EthicsScore
    openness: EthicsScore
    environment: EthicsScore

    @property
    def mean(self) -> float:
        return (self.privacy.score + self.openness.score + self.environment.score) / 3


class Product(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Sku
    name: str = Field(min_length=2, max_length=80)
    description: str = Field(min_length=10, max_length=2000)
    price: Decimal = Field(gt=0, max_digits=10, decimal_places=2, description="fiat price")
    currency: Literal["EUR", "USD", "CHF", "GBP"]
    category: str = Field(pattern=r"^[a-z][a-z-]{1,30}$")
    tags: tuple[str, ...] = ()
    scores: EthicsScores
    # Alt text of the product's illustration (data/pictures/<sku>.svg, drawn by us).
    picture_alt: str = Field(default="", max_length=200)
