"""Catalog pages and API: browse, filter, sort by ethics scores, product detail, OpenAPI."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from cloud.catalog.loader import CatalogError, load_catalog
from cloud.catalog.models import ETHICS_DIMENSIONS


async def test_catalog_has_products_across_categories(client):
    products = await (await client.get("/api/v1/products")).json()
    assert len(products) >= 12
    assert {"presence", "plug", "bulb", "thermostat", "sensor", "hub"} <= {
        p["category"] for p in products
    }
    for product in products:
        assert Decimal(product["price"]) > 0
        assert isinstance(product["price"], str)  # money stays exact on the wire
        for dim in ETHICS_DIMENSIONS:
            assert 0 <= product["scores"][dim]["score"] <= 10
            assert product["scores"][dim]["reason"]


@pytest.mark.parametrize("dimension", ETHICS_DIMENSIONS)
async def test_sort_by_each_ethics_score(client, dimension):
    products = await (await client.get(f"/api/v1/products?sort={dimension}")).json()
    scores = [p["scores"][dimension]["score"] for p in products]
    assert scores == sorted(scores, reverse=True)
    page = await (await client.get(f"/?sort={dimension}")).text()
    names = re.findall(r"<h2>([^<]+)</h2>", page)
    assert names == [p["name"].replace("&", "&amp;") for p in products]


async def test_filter_by_category(client):
    products = await (await client.get("/api/v1/products?category=plug")).json()
    assert products and {p["category"] for p in products} == {"plug"}
    page = await (await client.get("/?category=plug")).text()
    assert all(p["name"] in page for p in products)
    assert "Ethos Presence Detector" not in page


async def test_bad_filters_get_400_not_500(client):
    assert (await client.get("/api/v1/products?category=nope")).status == 400
    assert (await client.get("/?sort=nope")).status == 400


async def test_product_page_draws_scores(client):
    response = await client.get("/products/EPD-1")
    assert response.status == 200
    page = await response.text()
    assert "Ethos Presence Detector" in page
    for dim in ETHICS_DIMENSIONS:
        assert f'aria-label="{dim} ' in page
    assert page.count("<svg") >= 3
    assert (await client.get("/products/NOPE")).status == 404
    assert (await client.get("/api/v1/products/NOPE")).status == 404


async def test_pages_load_nothing_from_other_hosts(client):
    for path in ("/", "/products/EPD-1", "/account/signup", "/account/login"):
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        page = await response.text()
        external = re.findall(r'(?:src|href)="(https?:)?//', page)
        assert external == [], f"{path} references another host"


async def test_openapi_document_matches_responses(client):
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert {"/api/v1/products", "/api/v1/products/{sku}", "/api/v1/me"} <= set(document["paths"])
    schema = document["paths"]["/api/v1/products/{sku}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    product = await (await client.get("/api/v1/products/EPD-1")).json()
    resolver_doc = {**schema, "components": document["components"]}
    jsonschema.validate(product, resolver_doc)
    product["scores"]["privacy"]["score"] = "high"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(product, resolver_doc)


def test_catalog_errors_name_file_and_field(tmp_path: Path):
    good = json.loads((Path(load_catalog.__globals__["DATA_DIR"]) / "plugs.json").read_text())
    broken = [dict(good[0]), dict(good[1])]
    broken[1]["scores"] = {**broken[1]["scores"], "openness": {"score": 11, "reason": "too open"}}
    (tmp_path / "plugs.json").write_text(json.dumps(broken))
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    message = str(err.value)
    assert "plugs.json" in message and "scores.openness.score" in message and "PLUG-ZB" in message

    (tmp_path / "plugs.json").write_text("[{")
    with pytest.raises(CatalogError, match=r"plugs.json: not valid JSON at line 1"):
        load_catalog(tmp_path)


def test_catalog_skus_follow_the_files(tmp_path: Path):
    plugs = json.loads((Path(load_catalog.__globals__["DATA_DIR"]) / "plugs.json").read_text())
    (tmp_path / "b.json").write_text(json.dumps(plugs[:1]))
    (tmp_path / "a.json").write_text(json.dumps(plugs[1:2]))
    catalog = load_catalog(tmp_path)
    assert catalog.skus == (plugs[1]["sku"], plugs[0]["sku"])  # files in name order
    assert all(catalog.get(sku) is not None for sku in catalog.skus)


async def test_anonymous_home_page_is_shared_but_never_a_personal_one(
    client, smtp_server, unique_id
):
    from tests.cloud.common import sign_up_and_confirm

    first = await (await client.get("/?sort=privacy")).text()
    assert first == await (await client.get("/?sort=privacy")).text()
    assert first != await (await client.get("/?sort=openness")).text()

    email = f"home-{unique_id}@example.org"
    await sign_up_and_confirm(client, smtp_server, email)
    signed_in = await (await client.get("/?sort=privacy")).text()
    assert email in signed_in and 'name="csrf_token"' in signed_in

    client.session.cookie_jar.clear()  # a stranger, without cookies
    page = await (await client.get("/?sort=privacy")).text()
    assert email not in page and "Sign in" in page
