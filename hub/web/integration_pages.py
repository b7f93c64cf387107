"""The pages integrations bring: each integration's optional ``web.py`` (found by the
loader) adds its ``routes`` to the app, so the web UI names no integration to serve them.

An integration's ``web.py`` is the one module of an integration that may import ``hub.web``
helpers (keys, authorisation, page context); the import contracts in pyproject say so.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from pathlib import Path

from aiohttp import web

from hub.core.loader import web_modules

_LOGGER = logging.getLogger(__name__)


def add_integration_pages(app: web.Application, sources: Iterable[tuple[Path, str]]) -> None:
    """Add the routes of every integration's ``web`` module (whether or not the integration
    loads: its pages say so when it is not running)."""
    for name in web_modules(sources):
        module = importlib.import_module(name)
        app.router.add_routes(module.routes)
        _LOGGER.debug("Pages of %s added", name)
