"""BrokerAdmin's settings and its no-broker stand-in (default tier; the RabbitMQ side is in
test_broker_rights.py against a real node)."""

from __future__ import annotations

import aiohttp
import pytest

from cloud.remote.broker_admin import NoBroker, RabbitMQBrokerAdmin, split_admin_url


def test_the_admin_url_gives_up_its_credentials() -> None:
    assert split_admin_url("http://admin:s%40cret@broker.example:15672/") == (
        "http://broker.example:15672",
        "admin",
        "s%40cret",
    )
    assert split_admin_url("https://broker.example") == ("https://broker.example", None, None)


@pytest.mark.parametrize("url", ["broker:15672", "ftp://broker", "http://", "mqtt://h:1883"])
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        split_admin_url(url)


async def test_credentials_are_required() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="user and a password"):
            RabbitMQBrokerAdmin.from_url(session, "http://broker.example:15672")
        admin = RabbitMQBrokerAdmin.from_url(
            session, "http://broker.example:15672", "admin", "password-from-env"
        )
    assert isinstance(admin, RabbitMQBrokerAdmin)


async def test_without_a_broker_nobody_is_connected() -> None:
    broker = NoBroker()
    assert await broker.async_connected_subjects() == set()
    assert await broker.async_disconnect("user-1", client_ids=["web-" + "0" * 32]) == 0
