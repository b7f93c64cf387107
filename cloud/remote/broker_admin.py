"""Closing broker connections whose rights were taken away (revocation, REMOTE.md).

``BrokerAdmin`` is what the store's remote-access code calls: RabbitMQ's management HTTP
API when a broker is configured, ``NoBroker`` when none is. A connection's subject is the
user name RabbitMQ shows for it: the MQTT user name the client sent, the token's ``sub``
for an honest client (see ``RabbitMQBrokerAdmin`` for a dishonest one).

RabbitMQ 3.10 checks a token when a client connects and at its first use of each topic;
it does not close a connection whose token expired, and an open subscription keeps
delivering. Closing connections here is what takes rights away.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp

_LOGGER = logging.getLogger(__name__)

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=10)
CLOSE_REASON = "ethos: remote access withdrawn"


class BrokerAdminError(RuntimeError):
    """The broker's management API refused or failed a request."""


class BrokerAdmin(Protocol):
    async def async_disconnect(self, subject: str, client_ids: Iterable[str] = ()) -> int:
        """Close every connection of SUBJECT (or using one of CLIENT_IDS); how many closed."""

    async def async_connected_subjects(self) -> set[str]:
        """The subjects that hold at least one connection now."""


class NoBroker:
    """No remote broker configured: nobody is connected, nothing to close."""

    async def async_disconnect(self, subject: str, client_ids: Iterable[str] = ()) -> int:
        return 0

    async def async_connected_subjects(self) -> set[str]:
        return set()


def split_admin_url(url: str) -> tuple[str, str | None, str | None]:
    """``http://user:password@host:port`` → (URL without credentials, user, password)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the broker's management URL must be http(s)://host:port")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return base, parts.username, parts.password


class RabbitMQBrokerAdmin:
    """The management HTTP API of the remote RabbitMQ (its administrator user).

    RabbitMQ lists a connection under the MQTT user name its client sent: 3.10's OAuth 2.0
    backend checks the token but not that this name is its ``sub``. So ``async_disconnect``
    also closes the connections whose MQTT client id is the subject's (a hub connects as
    ``hub-<hub>``, its subject) or one of ``client_ids`` (the ids the store minted person
    tokens for). A connection under a made-up name shows under that name in
    ``async_connected_subjects``, so a sweep that closes every subject without rights
    closes it too.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        user: str,
        password: str,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {credentials}"}

    @classmethod
    def from_url(
        cls,
        session: aiohttp.ClientSession,
        url: str,
        user: str | None = None,
        password: str | None = None,
    ) -> RabbitMQBrokerAdmin:
        base, url_user, url_password = split_admin_url(url)
        user, password = user or url_user, password or url_password
        if not user or not password:
            raise ValueError("the broker's management API needs a user and a password")
        return cls(session, base, user, password)

    async def _async_connections(self) -> list[dict[str, Any]]:
        url = f"{self._base_url}/api/connections"
        params = {"columns": "name,user,client_properties"}
        async with self._session.get(
            url, params=params, headers=self._headers, timeout=REQUEST_TIMEOUT
        ) as response:
            if response.status != 200:
                raise BrokerAdminError(f"listing connections: HTTP {response.status}")
            body = await response.json()
        if not isinstance(body, list):
            raise BrokerAdminError("listing connections: not a list")
        return [item for item in body if isinstance(item, dict)]

    async def _async_close(self, name: str) -> bool:
        url = f"{self._base_url}/api/connections/{quote(name, safe='')}"
        async with self._session.delete(
            url,
            headers={**self._headers, "X-Reason": CLOSE_REASON},
            timeout=REQUEST_TIMEOUT,
        ) as response:
            if response.status in (200, 204):
                return True
            if response.status == 404:  # gone meanwhile
                return False
            raise BrokerAdminError(f"closing a connection: HTTP {response.status}")

    async def async_disconnect(self, subject: str, client_ids: Iterable[str] = ()) -> int:
        own_client_ids = {subject, *client_ids}
        closed = 0
        for connection in await self._async_connections():
            ours = _subject_of(connection) == subject or _client_id_of(connection) in own_client_ids
            if ours and await self._async_close(str(connection.get("name"))):
                closed += 1
        if closed:
            _LOGGER.info("closed %s broker connection(s) of %s", closed, subject)
        return closed

    async def async_connected_subjects(self) -> set[str]:
        return {
            subject
            for connection in await self._async_connections()
            if (subject := _subject_of(connection))
        }


def _subject_of(connection: dict[str, Any]) -> str | None:
    user = connection.get("user")
    return user if isinstance(user, str) and user else None


def _client_id_of(connection: dict[str, Any]) -> str | None:
    properties = connection.get("client_properties")
    if not isinstance(properties, dict):
        return None
    client_id = properties.get("client_id")
    if isinstance(client_id, list) and len(client_id) == 2:  # AMQP table form: [type, value]
        client_id = client_id[1]
    return client_id if isinstance(client_id, str) else None
