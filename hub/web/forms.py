"""Reading request bodies: a form or JSON that cannot be read is the sender's mistake (400).

aiohttp raises ``ValueError``, ``LookupError`` (an unknown charset), ``UnicodeDecodeError``,
or assertion errors and ``HttpProcessingError`` from its multipart reader on bodies it
cannot parse; left alone, each of them would be a 500. The ``readable_bodies`` middleware
reads every form once, before the CSRF check, so handlers get the parsed (cached) form
and never see a broken one.
"""

from __future__ import annotations

import codecs
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy

_LOGGER = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Forms that carry a large upload, and their limit (the app's is 1 MiB): read only once the
# person is known (the authentication middleware reads them for the CSRF token), never by
# ``readable_bodies`` ahead of it, so a stranger cannot make the hub store a large body.
LARGE_UPLOADS: dict[str, int] = {"/backup/restore": 1024**3}
# What aiohttp's parsers raise on a body they cannot read (an unknown charset: LookupError).
UNREADABLE = (ValueError, LookupError, AssertionError, KeyError, HttpProcessingError)


def _charset_problem(request: web.Request) -> str | None:
    charset = request.charset
    if charset is None:
        return None
    try:
        codecs.lookup(charset)
    except LookupError:
        return f"unknown charset {charset[:40]!r}"
    return None


def _bad_request(request: web.Request, message: str) -> web.HTTPBadRequest:
    if request.path.startswith("/api/"):
        return web.HTTPBadRequest(
            text=json.dumps({"error": message}), content_type="application/json"
        )
    return web.HTTPBadRequest(text=message)


async def async_read_form(request: web.Request) -> MultiDictProxy[Any]:
    """The request's form; a body that cannot be parsed is a 400 with the reason."""
    problem = _charset_problem(request)
    if problem is not None:
        raise _bad_request(request, f"the form cannot be read: {problem}")
    if request.content_type == "multipart/form-data" and "boundary" not in (
        request.headers.get("Content-Type", "")
    ):
        raise _bad_request(request, "the form cannot be read: multipart without a boundary")
    try:
        return await request.post()
    except UNREADABLE as err:
        _LOGGER.debug("Unreadable form on %s: %r", request.path, err)
        reason = "not valid UTF-8" if isinstance(err, UnicodeDecodeError) else "malformed body"
        raise _bad_request(request, f"the form cannot be read: {reason}") from err


async def async_read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; anything else is a 400 with the reason."""
    problem = _charset_problem(request)
    if problem is not None:
        raise _bad_request(request, f"the body cannot be read: {problem}")
    try:
        body = await request.json()
    except UNREADABLE as err:
        raise _bad_request(request, "body must be JSON") from err
    if not isinstance(body, dict):
        raise _bad_request(request, "body must be a JSON object")
    return body


@web.middleware
async def readable_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read a form body once, up front: a broken one is a 400 before any handler runs."""
    if request.path in LARGE_UPLOADS:
        return await handler(request.clone(client_max_size=LARGE_UPLOADS[request.path]))
    if request.method in BODY_METHODS and request.content_type in FORM_TYPES:
        await async_read_form(request)
    elif request.method in BODY_METHODS and _charset_problem(request) is not None:
        raise _bad_request(request, f"the body cannot be read: {_charset_problem(request)}")
    return await handler(request)
