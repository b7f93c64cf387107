"""Load and validate the catalog's JSON files; errors name the file and the field."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from cloud.catalog.models import ETHICS_DIMENSIONS, Product

_LOGGER = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
_PRODUCTS = TypeAdapter(list[Product])


class CatalogError(ValueError):
    """The catalog files cannot be used; the message names the file and field."""


@dataclass(frozen=True)
class Catalog:
    products: tuple[Product, ...]
    # Every SKU sold, in the catalog's order (derived once: several pages ask per request).
    skus: tuple[str, ...] = field(init=False, compare=False)
    _by_sku: dict[str, Product] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_sku = {p.sku: p for p in self.products}
        object.__setattr__(self, "_by_sku", by_sku)
        object.__setattr__(self, "skus", tuple(by_sku))

    def get(self, sku: str) -> Product | None:
        return self._by_sku.get(sku)

    @property
    def categories(self) -> list[str]:
        return sorted({p.category for p in self.products})

    def browse(self, category: str | None = None, sort: str | None = None) -> list[Product]:
        """Products of one category (or all), best first by an ethics score if asked."""
        items: Iterable[Product] = self.products
        if category:
            items = (p for p in items if p.category == category)
        if sort in ETHICS_DIMENSIONS:
            return sorted(items, key=lambda p: (-getattr(p.scores, sort).score, p.name))
        if sort == "price":
            return sorted(items, key=lambda p: (p.price, p.name))
        return sorted(items, key=lambda p: (-p.scores.mean, p.name))


def _location(loc: tuple[int | str, ...], document: list) -> str:
    parts = [str(p) for p in loc]
    if loc and isinstance(loc[0], int) and loc[0] < len(document):
        item = document[loc[0]]
        sku = item.get("sku") if isinstance(item, dict) else None
        parts[0] = f"product[{loc[0]}]" + (f" ({sku})" if sku else "")
    return ".".join(parts)


def load_catalog(directory: Path = DATA_DIR) -> Catalog:
    """Read every `*.json` in `directory` (each a list of products) and validate it."""
    products: list[Product] = []
    files = sorted(directory.glob("*.json"))
    if not files:
        raise CatalogError(f"{directory}: no catalog files (*.json)")
    seen: dict[str, Path] = {}
    for path in files:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise CatalogError(f"{path}: not valid JSON at line {err.lineno}: {err.msg}") from err
        if not isinstance(document, list):
            raise CatalogError(f"{path}: must hold a JSON list of products")
        try:
            batch = _PRODUCTS.validate_python(document)
        except ValidationError as err:
            first = err.errors()[0]
            raise CatalogError(
                f"{path}: {_location(first['loc'], document)}: {first['msg']}"
            ) from err
        for product in batch:
            if product.sku in seen:
                raise CatalogError(f"{path}: sku {product.sku} also defined in {seen[product.sku]}")
            seen[product.sku] = path
        products.extend(batch)
    _LOGGER.info("catalog: %s products from %s files", len(products), len(files))
    return Catalog(tuple(products))
