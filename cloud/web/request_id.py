"""A request id for every request: taken from an incoming X-Request-Id (when it looks like
one) or made here, sent back on the answer, attached to every log line written while the
request is handled and passed on to the store's calls to BTCPay.

The id lives in a context variable, so tasks started during a request carry it too.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from aiohttp import web

REQUEST_ID_HEADER = "X-Request-Id"
# What an incoming id may look like (a proxy's or client's); anything else is replaced.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

_CURRENT: ContextVar[str | None] = ContextVar("ethos_request_id", default=None)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def current_request_id() -> str | None:
    """The id of the request being handled (None outside a request)."""
    return _CURRENT.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = given if _ACCEPTABLE_ID.match(given) else new_request_id()
    _CURRENT.set(request_id)
    try:
        response = await handler(request)
    except web.HTTPException as err:
        err.headers[REQUEST_ID_HEADER] = request_id
        raise
    response.headers[REQUEST_ID_HEADER] = request_id
    return response


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record (None outside a request); add it to handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _CURRENT.get()
        return True
