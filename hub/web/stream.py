"""Live updates over Server-Sent Events: coalesced per entity, so a slow browser costs
at most one pending state per entity, never an unbounded queue. A stream ends when its
person's access ends (removed, or the store took it back), and when its session is gone
at a keep-alive (signed out, expired)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from ethos.tasks import async_wait_event
from hub.const import EVENT_STATE_CHANGED
from hub.core.events import Event
from hub.web.keys import HUB_KEY, PRINCIPAL_KEY, STREAMS_KEY
from hub.web.middleware import async_signed_in

KEEPALIVE_S = 15.0
routes = web.RouteTableDef()


class _Subscriber:
    def __init__(self, user_id: int | None) -> None:
        self.user_id = user_id
        self.pending: dict[str, dict[str, Any]] = {}
        self.wake = asyncio.Event()
        self.closing = False

    def on_state_changed(self, event: Event) -> None:
        new = event.data["new_state"]
        entity_id = event.data["entity_id"]
        self.pending[entity_id] = {
            "entity_id": entity_id,
            "state": None if new is None else new.state,
            "attributes": {} if new is None else _public_attributes(new.attributes),
        }
        self.wake.set()

    def close(self) -> None:
        self.closing = True
        self.wake.set()


def _public_attributes(attributes: Any) -> dict[str, Any]:
    keys = ("friendly_name", "unit_of_measurement", "brightness")
    return {k: attributes[k] for k in keys if k in attributes}


@routes.get("/api/stream")
async def state_stream(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB_KEY]
    principal = request[PRINCIPAL_KEY]
    subscriber = _Subscriber(principal.user_id if principal else None)
    unsubscribe = hub.bus.async_listen(EVENT_STATE_CHANGED, subscriber.on_state_changed)
    request.app[STREAMS_KEY].add(subscriber)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    try:
        await response.prepare(request)
        await response.write(b"retry: 3000\n\n")
        while not subscriber.closing:
            if not await async_wait_event(subscriber.wake, KEEPALIVE_S):
                if await async_signed_in(request) is None:
                    break
                await response.write(b": keep-alive\n\n")
                continue
            subscriber.wake.clear()
            batch, subscriber.pending = subscriber.pending, {}
            chunks = [
                f"event: state\ndata: {json.dumps(item, default=str)}\n\n"
                for item in batch.values()
            ]
            if chunks:
                await response.write("".join(chunks).encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        unsubscribe()
        request.app[STREAMS_KEY].discard(subscriber)
    return response


async def async_close_streams(app: web.Application) -> None:
    subscribers = app[STREAMS_KEY]
    for subscriber in list(subscribers):
        subscriber.close()


def close_streams_of(app: web.Application, user_id: int) -> None:
    """End the live streams of a person whose access just ended."""
    subscribers = app[STREAMS_KEY]
    for subscriber in list(subscribers):
        if subscriber.user_id == user_id:
            subscriber.close()
