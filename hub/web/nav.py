"""Links integrations add to the hub's navigation bar, each shown only while it applies.

An integration's ``setup_web(app)`` registers its link here (the web UI names no
integration); the page context lists the links whose ``shown(app)`` holds, so a page that
would answer 404 (its integration not loaded) is never offered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class NavLink:
    href: str
    element_id: str
    label: str
    shown: Callable[[web.Application], bool]


NAV_LINKS_KEY = web.AppKey("nav_links", list[NavLink])


def add_nav_link(app: web.Application, link: NavLink) -> None:
    app.setdefault(NAV_LINKS_KEY, []).append(link)


def visible_nav_links(app: web.Application) -> list[NavLink]:
    return [link for link in app.get(NAV_LINKS_KEY, []) if link.shown(app)]
