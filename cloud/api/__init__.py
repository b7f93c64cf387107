"""The JSON API under /api/v1 and its OpenAPI 3.1 document, generated from the models."""

from __future__ import annotations
