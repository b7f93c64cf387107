"""Store templates: a missing value prints as nothing, never as "None"."""

from __future__ import annotations

import aiohttp_jinja2


async def test_a_missing_value_never_prints_as_none(client):
    env = aiohttp_jinja2.get_env(client.app)
    page = env.from_string("Order {{ order_id }} ({{ status }})").render(order_id="A1", status=None)
    assert page == "Order A1 ()"
