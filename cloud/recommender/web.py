"""Wires the recommender into the store: its lifetime (cleanup context), the
`/api/v1/me/recommendations` endpoint, and the lists on the home and product pages.

Pages get their lists from a template context processor that only acts on the `home` and
`product` routes: it renders `recommender/_shelf.html` into `recommended_html` /
`together_html`, which the pages' blocks print, so the catalog handlers stay as they are.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup
from pydantic import BaseModel

from cloud.accounts.sessions import current_user
from cloud.api.openapi import ApiRoutes
from cloud.authz import authorize
from cloud.catalog.keys import CATALOG
from cloud.catalog.loader import Catalog
from cloud.catalog.models import Product
from cloud.ops.const import JOB_RECOMMENDER_TRAINING
from cloud.ops.keys import JOBS
from cloud.ops.leases import async_hold_only
from cloud.web.keys import DB, SETTINGS

from .live_model import RecommenderOptions, StoreRecommender
from .records import Recommendation

_LOGGER = logging.getLogger(__name__)

RECOMMENDER: web.AppKey[StoreRecommender] = web.AppKey("recommender")
OPTIONS: web.AppKey[RecommenderOptions] = web.AppKey("recommender_options")
RENDERER: web.AppKey[ShelfRenderer] = web.AppKey("recommender_shelves")
SHELF_TEMPLATE = "recommender/_shelf.html"

MODEL_FILE = "recommender/model.npz"
HOME_ITEMS = 6
TOGETHER_ITEMS = 4
API_ITEMS = 10

PERSONAL_TITLE = "Recommended for you"
COLD_START_TITLE = "Popular picks, best for privacy, openness and environment"
TOGETHER_TITLE = "Often bought together"
SIMILAR_TITLE = "Similar devices"
COMING_BACK_TITLE = "Coming back soon"
COMING_BACK_NOTE = (
    "Nothing we would recommend is in stock right now. These popular picks can be ordered "
    "again once new units arrive; the full catalogue is below."
)
MAX_SIMILARITY_SCORE = 1.0  # often_bought_together: similarity-only items score at most this


@dataclass(frozen=True)
class Suggestion:
    product: Product
    reason: str


@dataclass(frozen=True)
class Shelf:
    """A titled list of products with reasons, for a page."""

    title: str
    personal: bool
    items: list[Suggestion]
    note: str = ""


class RecommendationOut(BaseModel):
    sku: str
    name: str
    reason: str
    score: float
    price: Decimal
    currency: str
    url: str


class RecommendationsOut(BaseModel):
    personal: bool  # False: the cold-start list (no purchases yet)
    title: str
    items: list[RecommendationOut]


def _suggestions(catalog: Catalog, recommendations: list[Recommendation]) -> list[Suggestion]:
    # A product the model knows but the catalog dropped since is skipped.
    found = ((catalog.get(r.sku), r.reason) for r in recommendations)
    return [Suggestion(product, reason) for product, reason in found if product is not None]


class ShelfRenderer:
    """Renders shelves; a shared shelf (the anonymous home list, a product's often bought
    together: the same for every visitor until the model or the stock changes) is rendered
    once per distinct list and slot (a shelf id, or a product's shelf), as the catalog grid is."""

    def __init__(self, env: jinja2.Environment) -> None:
        self._env = env
        # slot -> the last shared (not personal) list: its key, the list, its rendering
        self._last: dict[
            str, tuple[tuple[str, tuple[Recommendation, ...]], Sequence[Recommendation], Markup]
        ] = {}

    def shared(self, slot: str, picks: Sequence[Recommendation]) -> Markup | None:
        """The rendering of this very list object, if it is the slot's last shared one."""
        last = self._last.get(slot)
        return last[2] if last is not None and last[1] is picks else None

    def render(
        self, shelf_id: str, shelf: Shelf, picks: Sequence[Recommendation], slot: str = ""
    ) -> Markup:
        slot = slot or shelf_id
        key = (shelf.title, tuple(picks))
        last = self._last.get(slot)
        if last is not None and last[0] == key and not shelf.personal:
            return last[2]
        template = self._env.get_template(SHELF_TEMPLATE)
        html = Markup(template.render(shelf=shelf, shelf_id=shelf_id))  # noqa: S704 (autoescaped template output)
        if not shelf.personal:
            self._last[slot] = (key, picks, html)
        return html


async def _page_context(request: web.Request) -> dict[str, object]:
    route = request.match_info.route.name
    if route == "home":
        if request.query.get("category") or request.query.get("sort"):
            return {}  # the filtered grid takes the shelf's place
        user = await current_user(request)
        picks = await request.app[RECOMMENDER].async_for_user(user.id if user else None, HOME_ITEMS)
        if not picks.items:
            return {"recommended_html": _coming_back(request)}
        shared = request.app[RENDERER].shared("recommended", picks.items)
        if shared is not None and not picks.personal:
            return {"recommended_html": shared}
        shelf = Shelf(
            PERSONAL_TITLE if picks.personal else COLD_START_TITLE,
            picks.personal,
            _suggestions(request.app[CATALOG], picks.items),
        )
        return {"recommended_html": request.app[RENDERER].render("recommended", shelf, picks.items)}
    if route == "product":
        sku = request.match_info.get("sku", "")
        if request.app[CATALOG].get(sku) is None:
            return {}  # not a product page (an unknown SKU's 404)
        together = await request.app[RECOMMENDER].async_together(sku, TOGETHER_ITEMS)
        slot = f"together:{sku}"  # one per product: the catalog bounds them
        shared = request.app[RENDERER].shared(slot, together)
        if shared is not None:
            return {"together_html": shared}
        # The model lists co-purchases first, scored above any similarity (<= 1); with
        # none yet, the list holds only similar products and says so.
        bought_together = bool(together) and together[0].score > MAX_SIMILARITY_SCORE
        title = TOGETHER_TITLE if bought_together else SIMILAR_TITLE
        shelf = Shelf(title, False, _suggestions(request.app[CATALOG], together))
        html = request.app[RENDERER].render("together", shelf, together, slot)
        return {"together_html": html}
    return {}


def _coming_back(request: web.Request) -> Markup:
    """Nothing recommendable is in stock: say so, and show the best of what is coming back."""
    catalog = request.app[CATALOG]
    everything = frozenset(p.sku for p in catalog.products)
    picks = request.app[RECOMMENDER].cold_start(everything, HOME_ITEMS)
    found = _suggestions(catalog, picks) or [
        Suggestion(product, "") for product in catalog.products[:HOME_ITEMS]
    ]
    items = [
        Suggestion(s.product, f"out of stock, coming back{f' — {s.reason}' if s.reason else ''}")
        for s in found
    ]
    shelf = Shelf(COMING_BACK_TITLE, False, items, COMING_BACK_NOTE)
    return request.app[RENDERER].render("coming-back", shelf, picks)


async def _recommender_ctx(app: web.Application) -> AsyncIterator[None]:
    jobs = app[JOBS]
    recommender = StoreRecommender(
        app[DB],
        app[CATALOG],
        app[SETTINGS].data_dir / MODEL_FILE,
        app.get(OPTIONS) or RecommenderOptions(),
        holds_training=lambda: jobs.holds(JOB_RECOMMENDER_TRAINING),
    )
    app[RECOMMENDER] = recommender
    # One replica retrains (and publishes the model); the lease only marks which.
    jobs.add(JOB_RECOMMENDER_TRAINING, async_hold_only)
    await recommender.async_start()
    yield
    await jobs.async_stop(JOB_RECOMMENDER_TRAINING)
    await recommender.async_close()


ROUTES = ApiRoutes()


@ROUTES.route(
    "GET",
    "/api/v1/me/recommendations",
    summary="Products recommended to me, each with a short reason",
    tag="recommendations",
    response=RecommendationsOut,
    auth=True,
    action="recommendations.read",
    errors=(401, 403),
)
async def my_recommendations(request: web.Request) -> web.Response:
    principal = await authorize(request, "recommendations.read")
    picks = await request.app[RECOMMENDER].async_for_user(principal.user_id, API_ITEMS)
    catalog = request.app[CATALOG]
    items = []
    for pick in picks.items:
        product = catalog.get(pick.sku)
        if product is not None:
            items.append(
                RecommendationOut(
                    sku=product.sku,
                    name=product.name,
                    reason=pick.reason,
                    score=round(pick.score, 4),
                    price=product.price,
                    currency=product.currency,
                    url=f"/products/{product.sku}",
                )
            )
    out = RecommendationsOut(
        personal=picks.personal,
        title=PERSONAL_TITLE if picks.personal else COLD_START_TITLE,
        items=items,
    )
    return web.json_response(
        out.model_dump(mode="json"), headers={"Cache-Control": "private, no-store"}
    )


def add_routes(app: web.Application) -> None:
    """Call after the database context is registered: training at start-up needs it."""
    app.cleanup_ctx.append(_recommender_ctx)
    app[RENDERER] = ShelfRenderer(aiohttp_jinja2.get_env(app))
    processors = app[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY]
    app[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY] = [*processors, _page_context]
