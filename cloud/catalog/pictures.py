"""Product illustrations: SVG files drawn by us, kept beside the catalog JSON, served by us.

Each product has `data/pictures/<sku>.svg`; its alt text is the product's `picture_alt`.
The files are read once at start-up and answered from memory, cacheable for an hour.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from cloud.catalog.keys import CATALOG
from cloud.catalog.loader import DATA_DIR, Catalog

_LOGGER = logging.getLogger(__name__)

PICTURES_DIR = DATA_DIR / "pictures"
SVG_CONTENT_TYPE = "image/svg+xml"
CACHE_CONTROL = "public, max-age=3600"
# An SVG served as a document could run script: forbid everything but its own styles.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
PICTURES: web.AppKey[dict[str, bytes]] = web.AppKey("catalog_pictures", dict)


def load_pictures(catalog: Catalog, directory: Path = PICTURES_DIR) -> dict[str, bytes]:
    """SKU → SVG for every product that has a file (a missing one is logged)."""
    pictures: dict[str, bytes] = {}
    for product in catalog.products:
        path = directory / f"{product.sku}.svg"
        if not path.is_file():
            _LOGGER.warning("catalog: %s has no picture (%s)", product.sku, path)
            continue
        pictures[product.sku] = path.read_bytes()
    return pictures


async def picture(request: web.Request) -> web.Response:
    found = request.app[PICTURES].get(request.match_info["sku"])
    if found is None:
        raise web.HTTPNotFound(text="No picture for that product.")
    return web.Response(
        body=found,
        content_type=SVG_CONTENT_TYPE,
        headers={"Cache-Control": CACHE_CONTROL, "Content-Security-Policy": SVG_CSP},
    )


def add_routes(app: web.Application) -> None:
    app[PICTURES] = load_pictures(app[CATALOG])
    app.router.add_get("/products/{sku}/picture.svg", picture, name="product_picture")
