"""Typed application keys of the catalog area."""

from __future__ import annotations

from aiohttp import web

from cloud.catalog.loader import Catalog

CATALOG: web.AppKey[Catalog] = web.AppKey("catalog", Catalog)
