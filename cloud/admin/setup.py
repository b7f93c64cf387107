"""Wires the console: its pages, and the first entries of its navigation."""

from __future__ import annotations

from aiohttp import web

from cloud.accounts.keys import PERSONAL_DATA
from cloud.admin import routes
from cloud.admin.nav import ADMIN_NAV, add_nav_entry
from cloud.admin.personal_data import CONSOLE_HOLDER


def setup(app: web.Application) -> None:
    """Call before the areas that add console pages (they append to its navigation)."""
    app[ADMIN_NAV] = []
    routes.add_routes(app)
    app[PERSONAL_DATA].register(CONSOLE_HOLDER)
    add_nav_entry(app, "Audit log", "/admin/audit")
