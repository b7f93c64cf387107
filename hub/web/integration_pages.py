"""The pages integrations bring: each integration's optional ``web.py`` (found by the
loader) adds its ``routes`` to the app, its ``templates`` folder (beside it) to the page
templates, and its ``setup_web(app)``, when it has one, registers what it adds to the web
UI's own pages (``hub.web.extensions``). So the web UI names no integration to serve them.

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
TEMPLATES_FOLDER = "templates"


def add_integration_pages(app: web.Application, sources: Iterable[tuple[Path, str]]) -> list[Path]:
    """Add the routes of every integration's ``web`` module (whether or not the integration
    loads: its pages say so when it is not running) and let it register its extensions;
    return the integrations' template folders, to look in after the web UI's own."""
    folders: list[Path] = []
    for name in web_modules(sources):
        module = importlib.import_module(name)
        app.router.add_routes(module.routes)
        setup_web = getattr(module, "setup_web", None)
        if setup_web is not None:
            setup_web(app)
        if module.__file__ is not None:
            folder = Path(module.__file__).parent / TEMPLATES_FOLDER
            if folder.is_dir():
                folders.append(folder)
        _LOGGER.debug("Pages of %s added", name)
    return folders
