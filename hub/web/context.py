"""What every page template gets: the signed-in person, their CSRF token, a permission test."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.web.authz import Action, refusal
from hub.web.keys import HUB_KEY, PRINCIPAL_KEY


def page_context(request: web.Request, **values: Any) -> dict[str, Any]:
    principal = request.get(PRINCIPAL_KEY)
    return {
        "principal": principal,
        "csrf": principal.csrf_token if principal else "",
        "can": lambda action: refusal(principal, Action(action)) is None,
        # What the hub cannot write (a full disk), shown to whoever is signed in.
        "write_problems": request.app[HUB_KEY].write_problems.messages() if principal else [],
        **values,
    }
