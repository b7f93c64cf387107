"""What a self-registered client (RFC 7591) may be: its metadata's types, where it may send
people back to, and which names it may not take.

Redirect URIs of registered clients are `https` anywhere, or plain `http` only to a host
that cannot be someone else's server on the internet: a loopback address (RFC 8252 §7.3),
a private-LAN address (RFC 1918, IPv4 and IPv6 link-local, IPv6 unique-local), or a name
under `.local` (mDNS) or `.home.arpa` (RFC 8375). Host names such as `localhost` are not
accepted over http: RFC 8252 §8.3 advises the loopback literal instead.

Names: a registered client may not call itself like a first-party client or the store.
Names are compared by a skeleton: Unicode NFKC, look-alike letters of other scripts
mapped to the Latin letters they imitate (Unicode's confusables data), case folded, accents
and everything but letters and digits dropped. So "ＥＴＨＯＳ mobile app", "Ethоs mobile
app" (a Cyrillic o) and "ethos-mobile-app" are all "Ethos mobile app".
"""

from __future__ import annotations

import functools
import ipaddress
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from cloud.oauth.const import (
    HUB_SETUP_CLIENT_NAME,
    MAX_CLIENT_NAME,
    MAX_REDIRECT_URI_LENGTH,
    MAX_REDIRECT_URIS,
    MOBILE_CLIENT_NAME,
    STORE_NAMES,
)

# Plain http is allowed to these networks only.
LAN_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "127.0.0.0/8",  # loopback
        "::1/128",
        "10.0.0.0/8",  # RFC 1918
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",  # IPv4 link-local
        "fe80::/10",  # IPv6 link-local
        "fc00::/7",  # IPv6 unique-local
    )
)
LAN_NAME_SUFFIXES = (".local", ".home.arpa")
# Characters no URL may carry unescaped (RFC 3986 §2).
NOT_IN_URLS = frozenset(' "<>\\^`{|}')
FIRST_PARTY_NAMES = (MOBILE_CLIENT_NAME, HUB_SETUP_CLIENT_NAME)


class ClientMetadata(BaseModel):
    """The metadata this provider understands, with strict types; the rest is ignored
    (RFC 7591 §2). Authlib then checks the values against the server's metadata."""

    model_config = ConfigDict(extra="ignore")

    redirect_uris: list[StrictStr] = Field(min_length=1, max_length=MAX_REDIRECT_URIS)
    client_name: StrictStr | None = Field(default=None, max_length=MAX_CLIENT_NAME)
    grant_types: list[StrictStr] | None = Field(default=None, max_length=4)
    response_types: list[StrictStr] | None = Field(default=None, max_length=4)
    token_endpoint_auth_method: StrictStr | None = None
    scope: StrictStr | None = Field(default=None, max_length=200)

    @classmethod
    def parse(cls, data: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, str]:
        """(metadata for Authlib, None, "") or (None, OAuth error code, description)."""
        try:
            metadata = cls.model_validate(data)
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "metadata"
            error = "invalid_redirect_uri" if field.startswith("redirect_uris") else None
            return None, error or "invalid_client_metadata", f"'{field}': {first['msg']}."
        return metadata.model_dump(exclude_none=True), None, ""


def redirect_uri_problem(uri: str) -> str | None:
    """Why a registered client may not use `uri`, or None when it may."""
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        return f"A redirect URI is at most {MAX_REDIRECT_URI_LENGTH} characters."
    if not uri.isascii() or not uri.isprintable() or NOT_IN_URLS & set(uri):
        return "A redirect URI holds only characters a URL may carry (percent-encode the rest)."
    try:
        parts = urlsplit(uri)
        hostname, _port = parts.hostname, parts.port
    except ValueError:
        return "A redirect URI must be an absolute http(s) URL with a valid host and port."
    if parts.scheme not in ("http", "https") or not hostname or parts.fragment:
        return "A redirect URI must be an absolute http(s) URL without fragment."
    if parts.username is not None or parts.password is not None:
        return "A redirect URI may not carry a user name or password."
    if parts.scheme == "http" and not _is_lan_host(hostname):
        return (
            "Plain http is allowed only to a loopback or private-LAN address, or a .local "
            "or .home.arpa name; use https for anything else."
        )
    return None


def _is_lan_host(hostname: str) -> bool:
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        name = hostname.rstrip(".").lower()
        return any(name.endswith(suffix) and name != suffix[1:] for suffix in LAN_NAME_SUFFIXES)
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    return any(address in network for network in LAN_NETWORKS if network.version == address.version)


@functools.cache
def _confusables() -> dict[str, list[dict[str, str]]]:
    # Imported on first use: the table is large and only registration needs it.
    from confusable_homoglyphs.confusables import confusables_data

    return confusables_data  # type: ignore[no-any-return]


def _latin_lookalike(char: str, ascii_too: bool) -> str:
    """The ASCII letters or digits `char` imitates, or `char` itself."""
    homoglyphs = _confusables().get(char, ())
    if char.isascii():
        # Only ASCII characters that are themselves imitations ('0' of 'O', '1' of 'l', 'm'
        # of 'rn'): those have exactly one prototype in the table.
        if ascii_too and len(homoglyphs) == 1 and homoglyphs[0]["c"].isascii():
            return homoglyphs[0]["c"]
        return char
    for glyph in homoglyphs:
        if glyph["c"].isascii() and glyph["c"].isalnum():
            return glyph["c"]
    return char


def name_skeleton(name: str) -> str:
    """What a name looks like, for comparing names (see the module's docstring)."""
    text = unicodedata.normalize("NFKC", name)
    # Other scripts' look-alikes first, while their case still says what they imitate
    # (Cyrillic "Т" is a Latin "T", its lower case is not a "t").
    text = "".join(_latin_lookalike(char, ascii_too=False) for char in text).casefold()
    text = "".join(_latin_lookalike(char, ascii_too=True) for char in text).casefold()
    text = unicodedata.normalize("NFKD", text)
    kept = "".join(char for char in text if char.isalnum() and not unicodedata.combining(char))
    # Capital I, small l and the digit 1 look the same; case folding made the I an i.
    return kept.replace("l", "i")


@functools.cache
def _reserved_skeletons() -> tuple[frozenset[str], tuple[str, ...]]:
    exact = frozenset(name_skeleton(name) for name in (*STORE_NAMES, *FIRST_PARTY_NAMES))
    contained = tuple(
        name_skeleton(name) for name in (*STORE_NAMES[1:], *FIRST_PARTY_NAMES)
    )  # "Ethos" alone may appear in a name ("Ethos hub"), the others may not
    return exact, contained


def client_name_problem(name: str) -> str | None:
    """Why a registered client may not take `name`, or None when it may."""
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in name):
        return "The client name may not hold control or invisible formatting characters."
    skeleton = name_skeleton(name)
    if not skeleton:
        return "The client name needs at least one letter or digit."
    exact, contained = _reserved_skeletons()
    if skeleton in exact or any(reserved in skeleton for reserved in contained):
        return "That name belongs to the Ethos store or one of its own apps: choose another."
    return None
