"""The servers' event loop: uvloop when installed, and a loop that serves aiohttp either way."""

from __future__ import annotations

import uvloop
from aiohttp import ClientSession, web

from ethos.event_loop import new_server_loop
from tests.support.processes import free_port


def test_servers_run_on_uvloop_and_answer_http() -> None:
    loop = new_server_loop()
    assert isinstance(loop, uvloop.Loop)

    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text="served")

    async def exchange() -> str:
        app = web.Application()
        app.router.add_get("/", hello)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            async with ClientSession() as session, session.get(f"http://127.0.0.1:{port}/") as r:
                return await r.text()
        finally:
            await runner.cleanup()

    try:
        assert loop.run_until_complete(exchange()) == "served"
    finally:
        loop.close()
