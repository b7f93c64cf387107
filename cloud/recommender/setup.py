"""Wires the recommender: its model's lifetime, its endpoint and the pages' lists.

Call after the database context is registered: training at start-up needs it.
"""

from __future__ import annotations

from aiohttp import web

from cloud.recommender import web as recommender_web
from cloud.web.keys import API


def setup(app: web.Application) -> None:
    recommender_web.add_routes(app)
    app[API].include(recommender_web.ROUTES)
