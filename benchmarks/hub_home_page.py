"""The generated home page's server-side time with 200 entities in 20 rooms, against the
entities page (the same 200 entities in one table) in the same run.

A real hub (no integrations) holds 20 rooms of 5 devices, each device an occupancy sensor
and a distance sensor with a day of history (one state every 30 minutes), so every room
draws 5 sparklines from the SQLite history. Requests alternate between ``/`` and
``/entities`` through aiohttp's test server; a middleware times each handler (routing,
the page's building, the template) on the server. Prints median and p99 per page, their
ratio, and the load average.

    .venv/bin/python -m benchmarks.hub_home_page [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub.core.config import HubConfig
from hub.core.models import DeviceInfo
from hub.web.app import create_app
from hub.web.auth.const import SESSION_COOKIE
from hub.web.keys import HUB_KEY, USERS_KEY

ROOMS, DEVICES_PER_ROOM = 20, 5  # two entities per device: 200 entities
HISTORY_POINTS = 48
P99_BUDGET_MS = 50.0


async def _async_populate(app: web.Application) -> None:
    hub = app[HUB_KEY]
    now = datetime.now(UTC)
    rows: list[tuple[str, str, float]] = []
    for room_number in range(ROOMS):
        area = await hub.areas.async_create(f"Room {room_number:02d}")
        for number in range(DEVICES_PER_ROOM):
            serial = f"epd_{room_number:02d}_{number}"
            device = await hub.devices.async_get_or_create(
                DeviceInfo(identifiers=(("bench", serial),), name=f"Detector {serial}")
            )
            await hub.areas.async_assign_device(device.id, area.id)
            for domain, key, value, attributes in (
                ("binary_sensor", "occupancy", "on", {"device_class": "occupancy"}),
                ("sensor", "distance", "150", {"unit_of_measurement": "cm"}),
            ):
                row = await hub.entities.async_get_or_create(
                    domain,
                    "bench",
                    f"{serial}_{key}",
                    suggested_object_id=f"{serial} {key}",
                    device_id=device.id,
                )
                hub.states.async_set(row.entity_id, value, attributes)
                if domain == "sensor":
                    rows.extend(
                        (
                            row.entity_id,
                            str(100 + step % 7 * 10),
                            (now - timedelta(minutes=30 * step)).timestamp(),
                        )
                        for step in range(HISTORY_POINTS, 0, -1)
                    )
    database = hub.recorder.database
    await database.async_run(database.write, rows)


def _timing(samples: dict[str, list[float]]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Wall time per path, and the event loop thread's CPU time (``cpu <path>``), which
    other processes on a busy machine do not inflate (the test client shares the thread but
    runs outside the handler)."""

    @web.middleware
    async def timed(request: web.Request, handler: Callable) -> web.StreamResponse:
        started, cpu = time.perf_counter(), time.thread_time()
        response = await handler(request)
        samples.setdefault(request.path, []).append((time.perf_counter() - started) * 1000)
        samples.setdefault(f"cpu {request.path}", []).append((time.thread_time() - cpu) * 1000)
        return response

    return timed


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def async_main(requests: int) -> None:
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(HubConfig(data_dir=Path(folder), integrations=()))
        app.middlewares.append(_timing(samples))
        async with TestClient(TestServer(app)) as client:
            await _async_populate(app)
            user = await app[USERS_KEY].async_upsert_from_claims("bench", "b@example.test", "B")
            session = await app[USERS_KEY].async_create_session(user)
            client.session.cookie_jar.update_cookies({SESSION_COOKIE: session.token})
            for path in ("/", "/entities"):  # warm up templates and caches
                assert (await client.get(path)).status == 200
            samples.clear()
            for _ in range(requests):
                for path in ("/", "/entities"):
                    response = await client.get(path)
                    assert response.status == 200
                    await response.read()
    home, entities = samples["/"], samples["/entities"]
    print(f"{ROOMS} rooms, {ROOMS * DEVICES_PER_ROOM * 2} entities, {requests} requests each")
    for name, path in (("home", "/"), ("entities", "/entities")):
        for kind, values in (("wall", samples[path]), ("cpu", samples[f"cpu {path}"])):
            print(
                f"{name:9} {kind:4} median {statistics.median(values):6.2f} ms  "
                f"p99 {_p99(values):6.2f} ms"
            )
    print(
        f"home / entities: median x{statistics.median(home) / statistics.median(entities):.2f}"
        f", p99 x{_p99(home) / _p99(entities):.2f}"
    )
    verdict = "within" if _p99(home) < P99_BUDGET_MS else "OVER"
    print(f"home p99 {verdict} the {P99_BUDGET_MS:g} ms budget; load average {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    asyncio.run(async_main(parser.parse_args().requests))


if __name__ == "__main__":
    main()
