"""Behind a trusted reverse proxy, sign-in throttling counts the client X-Forwarded-For names."""

from __future__ import annotations

import dataclasses
import ipaddress

from cloud.accounts.throttle import ADDRESS_POLICY
from cloud.app import create_app

CLIENT = "203.0.113.7"
NEIGHBOUR = "198.51.100.9"


async def _log_in(client, email: str, forwarded_for: str):
    return await client.post(
        "/api/v1/account/login",
        json={"email": email, "password": "not the password 1"},
        headers={"X-Forwarded-For": forwarded_for},
    )


async def test_each_client_behind_the_proxy_is_throttled_on_its_own(
    aiohttp_client, cloud_settings, unique_id
):
    # The test client connects from 127.0.0.1: that is the proxy.
    settings = dataclasses.replace(
        cloud_settings, trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),)
    )
    client = await aiohttp_client(create_app(settings))
    for n in range(ADDRESS_POLICY.slow_after):  # a new email each time: only the address adds up
        assert (await _log_in(client, f"g{n}-{unique_id}@example.org", CLIENT)).status == 401

    slowed = await _log_in(client, f"next-{unique_id}@example.org", CLIENT)
    assert slowed.status == 429 and int(slowed.headers["Retry-After"]) >= 1
    # A forged hop in front of the one the proxy appended changes nothing.
    forged = await _log_in(client, f"forged-{unique_id}@example.org", f"{NEIGHBOUR}, {CLIENT}")
    assert forged.status == 429
    # Another household behind the same proxy is not slowed by the first one's failures.
    other = await _log_in(client, f"other-{unique_id}@example.org", NEIGHBOUR)
    assert other.status == 401


async def test_forwarded_for_is_ignored_without_trusted_proxies(client, unique_id):
    for n in range(ADDRESS_POLICY.slow_after):
        forwarded = f"198.51.100.{n + 1}"  # a client claiming a new address each time
        assert (await _log_in(client, f"s{n}-{unique_id}@example.org", forwarded)).status == 401
    slowed = await _log_in(client, f"last-{unique_id}@example.org", "198.51.100.250")
    assert slowed.status == 429
