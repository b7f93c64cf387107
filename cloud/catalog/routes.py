"""Store pages for browsing the catalog, and its JSON API."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup
from pydantic import BaseModel, TypeAdapter

from cloud.api.openapi import ApiRoutes
from cloud.catalog import pictures
from cloud.catalog.keys import CATALOG
from cloud.catalog.loader import Catalog
from cloud.catalog.models import ETHICS_DIMENSIONS, EthicsScores, Product
from cloud.inventory.availability import STOCK_COUNTS
from cloud.web.middleware import NEW_CSRF_COOKIE

SORTS = (
    ("", "Best overall"),
    ("privacy", "Privacy"),
    ("openness", "Openness"),
    ("environment", "Environment"),
    ("price", "Price"),
)


class ProductOut(BaseModel):
    sku: str
    name: str
    description: str
    price: Decimal
    currency: str
    category: str
    tags: list[str]
    scores: EthicsScores
    url: str

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        return cls(
            **product.model_dump(exclude={"tags"}),
            tags=list(product.tags),
            url=f"/products/{product.sku}",
        )


_PRODUCT_LIST = TypeAdapter(list[ProductOut])


class CatalogViews:
    """Rendered forms of the (immutable) catalog, built once per filter and sort.

    The catalog only changes with a deploy, so the product grid and the API's JSON are
    computed on first use and then served as bytes: the page costs little more than a
    bare handler.
    """

    def __init__(self, catalog: Catalog, env: jinja2.Environment) -> None:
        self._catalog = catalog
        self._env = env
        self._grids: dict[tuple[str | None, str | None], Markup] = {}
        self._json: dict[tuple[str | None, str | None], bytes] = {}

    def grid(self, category: str | None, sort: str | None) -> Markup:
        key = (category, sort)
        if key not in self._grids:
            template = self._env.get_template("_product_grid.html")
            products = self._catalog.browse(category, sort)
            self._grids[key] = Markup(template.render(products=products))  # noqa: S704 (autoescaped template output)
        return self._grids[key]

    def products_json(self, category: str | None, sort: str | None) -> bytes:
        key = (category, sort)
        if key not in self._json:
            items = [ProductOut.of(p) for p in self._catalog.browse(category, sort)]
            self._json[key] = _PRODUCT_LIST.dump_json(items)
        return self._json[key]


VIEWS: web.AppKey[CatalogViews] = web.AppKey("catalog_views")


def _browse_args(request: web.Request) -> tuple[str | None, str | None]:
    catalog = request.app[CATALOG]
    category = request.query.get("category") or None
    sort = request.query.get("sort") or None
    if category is not None and category not in catalog.categories:
        raise web.HTTPBadRequest(text=f"Unknown category {category!r}.")
    if sort is not None and sort not in (*ETHICS_DIMENSIONS, "price"):
        raise web.HTTPBadRequest(
            text=f"Unknown sort {sort!r}: use privacy, openness, environment or price."
        )
    return category, sort


async def home_page(request: web.Request) -> web.Response:
    catalog = request.app[CATALOG]
    category, sort = _browse_args(request)
    context = {
        "grid": request.app[VIEWS].grid(category, sort),
        "categories": catalog.categories,
        "category": category,
        "sort": sort or "",
        "sorts": SORTS,
    }
    if request.cookies:  # a session, a cart or a form token: this page is the visitor's own
        return aiohttp_jinja2.render_template("home.html", request, context)
    return request.app[ANONYMOUS_PAGES].home(request, context)


class AnonymousPages:
    """Whole home pages for visitors without cookies, who all see the same page.

    The page is keyed by filter, sort and the (shared) recommendation shelf, so a new
    model or stock change makes a new entry; old entries are dropped beyond a bound.
    """

    MAX_ENTRIES = 128

    def __init__(self) -> None:
        self._pages: dict[tuple[object, object, str], bytes] = {}

    def home(self, request: web.Request, context: Mapping[str, object]) -> web.Response:
        shared = request.get(aiohttp_jinja2.REQUEST_CONTEXT_KEY, {})
        key = (context["category"], context["sort"], str(shared.get("recommended_html", "")))
        body = self._pages.get(key)
        if body is None:
            response = aiohttp_jinja2.render_template("home.html", request, context)
            if request.get(NEW_CSRF_COOKIE) or response.cookies:
                return response  # personalised after all: never shared
            if len(self._pages) >= self.MAX_ENTRIES:
                self._pages.pop(next(iter(self._pages)))
            body = self._pages[key] = response.body  # type: ignore[assignment]
        return web.Response(body=body, content_type="text/html", charset="utf-8")


ANONYMOUS_PAGES: web.AppKey[AnonymousPages] = web.AppKey("anonymous_pages")


def _product_or_404(request: web.Request) -> Product:
    product = request.app[CATALOG].get(request.match_info["sku"])
    if product is None:
        raise web.HTTPNotFound(text="We do not sell that product.")
    return product


LOW_STOCK = 10  # from this many free units down, the page says how many are left


async def product_page(request: web.Request) -> web.Response:
    product = _product_or_404(request)
    available = await request.app[STOCK_COUNTS].async_available(product.sku)
    return aiohttp_jinja2.render_template(
        "product.html",
        request,
        {"product": product, "available": available, "low_stock": LOW_STOCK},
    )


ROUTES = ApiRoutes()


@ROUTES.route(
    "GET",
    "/api/v1/products",
    summary="List products",
    tag="catalog",
    response=[ProductOut],
    errors=(400,),
)
async def list_products(request: web.Request) -> web.Response:
    category, sort = _browse_args(request)
    return web.Response(
        body=request.app[VIEWS].products_json(category, sort), content_type="application/json"
    )


@ROUTES.route(
    "GET",
    "/api/v1/products/{sku}",
    summary="One product",
    tag="catalog",
    response=ProductOut,
    errors=(404,),
)
async def get_product(request: web.Request) -> web.Response:
    return web.json_response(ProductOut.of(_product_or_404(request)).model_dump(mode="json"))


def add_routes(app: web.Application) -> None:
    app[VIEWS] = CatalogViews(app[CATALOG], aiohttp_jinja2.get_env(app))
    app[ANONYMOUS_PAGES] = AnonymousPages()
    app.router.add_get("/", home_page, name="home")
    app.router.add_get("/products/{sku}", product_page, name="product")
    pictures.add_routes(app)
