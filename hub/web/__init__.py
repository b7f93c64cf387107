"""The hub's web UI: aiohttp + jinja2 pages, live updates, sign-in."""
