"""The hub's own advertisement: ``_ethos-hub._tcp`` with name, version and UI URL in TXT."""

from __future__ import annotations

import importlib.metadata
import ipaddress
import logging
import socket
from typing import TYPE_CHECKING

import ifaddr
from zeroconf import InterfaceChoice
from zeroconf.asyncio import AsyncServiceInfo

from hub.const import WILDCARD_HOSTS
from hub.integrations.zeroconf.const import (
    DISTRIBUTION,
    ENV_INTERFACES,
    HUB_SERVICE_TYPE,
    LOOPBACK_ADDRESS,
    LOOPBACK_HOSTS,
    TXT_NAME,
    TXT_URL,
    TXT_VERSION,
)

if TYPE_CHECKING:
    from hub.core.config import HubConfig

_LOGGER = logging.getLogger(__name__)


def hub_version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def mdns_interfaces(config: HubConfig) -> list[str] | InterfaceChoice:
    """Where to speak mDNS: as configured, else where the web UI can be reached."""
    text = config.environ.get(ENV_INTERFACES) or ""
    configured = [part.strip() for part in text.split(",") if part.strip()]
    if configured:
        return configured
    if config.host in LOOPBACK_HOSTS:
        return [LOOPBACK_ADDRESS]
    if config.host in WILDCARD_HOSTS:
        return InterfaceChoice.All
    return [config.host]


def _is_ipv4(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return False


def advertised_addresses(interfaces: list[str] | InterfaceChoice) -> list[str]:
    """The IPv4 addresses the UI is reachable at (loopback only when nothing else is)."""
    if isinstance(interfaces, list):
        return [address for address in interfaces if _is_ipv4(address)]
    found = [
        str(ip.ip)
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if isinstance(ip.ip, str) and not ip.ip.startswith("127.")
    ]
    return found or [LOOPBACK_ADDRESS]


def ui_url(config: HubConfig, addresses: list[str]) -> str:
    if config.ui_url:
        return config.ui_url
    host = config.host
    if host in WILDCARD_HOSTS or not host:
        host = addresses[0] if addresses else LOOPBACK_ADDRESS
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.port}/"


def hub_service_info(config: HubConfig, name: str, addresses: list[str]) -> AsyncServiceInfo:
    """The advertisement under ``name``: the owner's (set-up flow) or the environment's."""
    properties = {
        TXT_NAME: name,
        TXT_VERSION: hub_version(),
        TXT_URL: ui_url(config, addresses),
    }
    hostname = socket.gethostname().split(".")[0] or "ethos-hub"
    # An instance name is one DNS label: at most 63 bytes, dots would split it.
    instance = name.replace(".", " ").encode()[:63].decode(errors="ignore")
    return AsyncServiceInfo(
        HUB_SERVICE_TYPE,
        f"{instance}.{HUB_SERVICE_TYPE}",
        port=config.port,
        properties=properties,
        parsed_addresses=addresses,
        server=f"{hostname}.local.",
    )
