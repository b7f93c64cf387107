"""Wires the console: its pages, and the first entries of its navigation."""

from __future__ import annotations

from aiohttp import web

from cloud.accounts.keys import PERSONAL_DATA
from cloud.admin import order_pages, routes, webhook_pages
from cloud.admin.nav import ADMIN_NAV, add_nav_entry
from cloud.admin.personal_data import CONSOLE_HOLDER


def setup(app: web.Application) -> None:
    """Call before the areas that add console pages (they append to its navigation)."""
    app[ADMIN_NAV] = []
    routes.add_routes(app)
    order_pages.add_routes(app)
    webhook_pages.add_routes(app)
    app[PERSONAL_DATA].register(CONSOLE_HOLDER)
    add_nav_entry(app, "Orders", "/admin/orders")
    add_nav_entry(app, "Webhook log", "/admin/webhooks")
    add_nav_entry(app, "Audit log", "/admin/audit")
