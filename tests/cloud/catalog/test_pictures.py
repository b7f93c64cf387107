"""Product pictures: every catalog product has an SVG drawn by us with alt text, shown on
the listing and product pages and served by the store itself."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from cloud.catalog.loader import load_catalog
from cloud.catalog.pictures import PICTURES_DIR

SVG_NS = "{http://www.w3.org/2000/svg}"
IMG_RE = re.compile(r'<img class="product-picture" src="([^"]+)" alt="([^"]*)"')


def test_every_product_has_an_svg_picture_with_alt_text():
    catalog = load_catalog()
    for product in catalog.products:
        path = PICTURES_DIR / f"{product.sku}.svg"
        root = ET.fromstring(path.read_bytes())  # noqa: S314 (our own files)
        assert root.tag == f"{SVG_NS}svg", product.sku
        assert root.get("viewBox"), product.sku
        assert len(root) > 2, f"{product.sku}: an empty drawing"
        assert len(product.picture_alt) >= 20, f"{product.sku}: no useful alt text"
        title = root.find(f"{SVG_NS}title")
        assert title is not None and title.text == product.picture_alt
        # Drawn by us, self-contained: no links to anything outside the file.
        assert b"href" not in path.read_bytes() and b"<script" not in path.read_bytes()
    files = {path.stem for path in PICTURES_DIR.glob("*.svg")}
    assert files == {product.sku for product in catalog.products}


async def test_listing_and_product_page_show_pictures_served_by_the_store(client):
    catalog = load_catalog()
    home = await (await client.get("/")).text()
    shown = dict(IMG_RE.findall(home))
    assert set(shown) == {f"/products/{p.sku}/picture.svg" for p in catalog.products}
    for product in catalog.products:
        assert shown[f"/products/{product.sku}/picture.svg"] == product.picture_alt
    page = await (await client.get("/products/EPD-1")).text()
    [(src, alt)] = IMG_RE.findall(page)
    assert src == "/products/EPD-1/picture.svg" and alt == catalog.get("EPD-1").picture_alt
    response = await client.get(src)
    assert response.status == 200
    assert response.content_type == "image/svg+xml"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert await response.read() == (PICTURES_DIR / "EPD-1.svg").read_bytes()
    assert (await client.get("/products/NOPE/picture.svg")).status == 404
