"""Where the hub speaks mDNS and what it advertises, from its environment."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

from zeroconf import InterfaceChoice

from hub.core.config import HubConfig
from hub.integrations.bluetooth.adapters import configured_adapter
from hub.integrations.zeroconf.advertiser import advertised_addresses, mdns_interfaces, ui_url

WILDCARD = "0.0.0.0"  # noqa: S104 (a listen address to interpret, nothing is bound)


def config(host: str, **env: str) -> HubConfig:
    return HubConfig.from_env({"ETHOS_DATA_DIR": str(Path("/tmp/x")), **env}, host=host, port=8282)


def test_a_loopback_hub_stays_on_loopback() -> None:
    hub = config("127.0.0.1")
    interfaces = mdns_interfaces(hub)
    assert interfaces == ["127.0.0.1"]
    assert ui_url(hub, advertised_addresses(interfaces)) == "http://127.0.0.1:8282/"
    assert hub.name == "Ethos hub"


def test_a_specific_address_is_where_mdns_runs_and_what_is_advertised() -> None:
    hub = config("192.168.1.20", ETHOS_HUB_NAME="Cabin")
    interfaces = mdns_interfaces(hub)
    assert interfaces == ["192.168.1.20"]
    assert advertised_addresses(interfaces) == ["192.168.1.20"]
    assert ui_url(hub, ["192.168.1.20"]) == "http://192.168.1.20:8282/"
    assert hub.name == "Cabin"


def test_a_wildcard_hub_speaks_everywhere_and_advertises_a_real_address() -> None:
    hub = config(WILDCARD)
    assert mdns_interfaces(hub) is InterfaceChoice.All
    addresses = advertised_addresses(InterfaceChoice.All)
    assert addresses, "at least loopback"
    assert all(ipaddress.ip_address(a).version == 4 for a in addresses)
    if addresses != ["127.0.0.1"]:  # loopback only when the machine has nothing else
        assert not any(a.startswith("127.") for a in addresses)
    assert ui_url(hub, addresses) == f"http://{addresses[0]}:8282/"


def test_explicit_settings_win() -> None:
    hub = config(
        WILDCARD,
        ETHOS_HUB_ZEROCONF_INTERFACES=" 10.0.0.5, 10.0.0.6 ,",
        ETHOS_HUB_URL="https://hub.home.arpa/",
        ETHOS_HUB_BLUETOOTH_ADAPTER="hci1",
    )
    assert mdns_interfaces(hub) == ["10.0.0.5", "10.0.0.6"]
    assert ui_url(hub, ["10.0.0.5"]) == "https://hub.home.arpa/"
    assert configured_adapter(hub.environ) == "hci1"


def test_sign_in_returns_to_an_address_people_can_reach() -> None:
    """The store refuses redirects to a wildcard address; a hub on every interface names
    itself by its mDNS name (which zeroconf answers for), or by its configured URL."""
    hostname = socket.gethostname().split(".")[0]
    assert config(WILDCARD).redirect_uri == f"http://{hostname}.local:8282/auth/callback"
    assert config("::").redirect_uri == f"http://{hostname}.local:8282/auth/callback"
    assert config("192.168.1.20").redirect_uri == "http://192.168.1.20:8282/auth/callback"
    assert config("fd00::20").redirect_uri == "http://[fd00::20]:8282/auth/callback"
    configured = config(WILDCARD, ETHOS_HUB_URL="https://hub.home.arpa/")
    assert configured.redirect_uri == "https://hub.home.arpa/auth/callback"
    explicit = config(WILDCARD, ETHOS_HUB_REDIRECT_URI="http://10.0.0.5:8282/auth/callback")
    assert explicit.redirect_uri == "http://10.0.0.5:8282/auth/callback"
