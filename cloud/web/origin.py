"""Where a request comes from and where it may go next: the client's address behind
trusted proxies, and the local paths followed after sign-in."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

from aiohttp import web

from cloud.web.keys import SETTINGS


def safe_next(target: str | None) -> str:
    """Only plain local paths are followed after sign-in (no open redirects), else "/".

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
    `/<TAB>/evil.example` or `/\\evil.example` would leave the site: only printable ASCII
    without backslashes is accepted (our own links are percent-encoded), it must start
    with one slash, and it must parse with neither a scheme nor a host.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or not all("!" <= char <= "~" for char in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def client_address(request: web.Request) -> str:
    """The address a request comes from. Behind trusted reverse proxies (ETHOS_TRUSTED_PROXIES)
    that is the right-most X-Forwarded-For hop that is not one of them: hops further left
    were written by the client and could be anything."""
    remote = request.remote or "unknown"
    trusted = request.app[SETTINGS].trusted_proxies
    if not trusted or not _within(_ip(remote), trusted):
        return remote
    hops = [
        hop.strip() for hop in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")
    ]
    for hop in reversed([hop for hop in hops if hop]):
        ip = _ip(hop)
        if ip is None:
            return remote
        if not _within(ip, trusted):
            return hop
    return remote


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
    networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> bool:
    return ip is not None and any(ip in network for network in networks)
