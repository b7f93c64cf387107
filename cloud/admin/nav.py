"""The console's navigation: each area that adds pages adds its entry from its setup."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class NavEntry:
    label: str
    path: str


ADMIN_NAV: web.AppKey[list[NavEntry]] = web.AppKey("admin_nav", list)


def add_nav_entry(app: web.Application, label: str, path: str) -> None:
    """Show a link to `path` in the console's navigation (in the order entries are added)."""
    if not path.startswith("/admin"):
        raise ValueError(f"console pages live under /admin, not {path}")
    app.setdefault(ADMIN_NAV, []).append(NavEntry(label, path))
