"""The catalog: products with fiat prices and privacy / openness / environment scores."""

from __future__ import annotations
