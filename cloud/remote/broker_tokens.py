"""Short-lived broker tokens: JWTs the remote broker (RabbitMQ's OAuth 2.0 backend) checks.

Signed RS256 with the store's ID-token key ring (``KeyRing.signing``, ``kid`` in the
header), so the broker verifies them with the keys published at ``/oauth/jwks``. The
audience is the broker's resource server id, so neither an ID token is ever a broker token
nor the other way round.

Scopes are RabbitMQ permissions, ``ethos_broker.<permission>:<vhost>/<name>[/<routing key>]``
with ``*`` the plugin's only wildcard (any characters, dots included). What the MQTT
plugin asks for:
- subscribing: configure, write and read on the client's queue
  ``mqtt-subscription-<client id>qos0|qos1``, read on ``amq.topic`` and topic read on the
  filter's routing key (MQTT ``/`` becomes ``.``, ``+`` becomes ``*``);
- publishing: write on ``amq.topic`` and topic write on the topic's routing key.
A three-part scope grants both the exchange permission and the topic permission, so no
scope grants the exchange alone. The limits of a ``*``: ``cmd.*`` also admits
``cmd/a/b``, still inside the same home.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from joserfc import jwt
from joserfc.jwk import RSAKey

from cloud.oauth.const import ID_TOKEN_ALG
from cloud.remote.broker_const import (
    BROWSER_CLIENT_ID_PREFIX,
    HUB_CLIENT_ID_PREFIX,
    HUB_SUBJECT_PREFIX,
    HUB_TOKEN_LIFETIME,
    MQTT_EXCHANGE,
    MQTT_QUEUE_PREFIX,
    MQTT_VHOST_IN_SCOPE,
    PERSON_SUBJECT_PREFIX,
    PERSON_TOKEN_LIFETIME,
    RESOURCE_SERVER_ID,
    TOPIC_ROOT,
)

HUB_ID = re.compile(r"[0-9a-f]{32}")
BROWSER_CLIENT_ID = re.compile(re.escape(BROWSER_CLIENT_ID_PREFIX) + r"[0-9a-f]{32}")
# A hub session's client id: ``hub-<hub>-<32 random hex>`` (69 characters; RabbitMQ takes
# client ids of any length, and the subscriber queue's name stays far below 255 bytes).
HUB_SESSION_SUFFIX = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class BrokerToken:
    """A minted token and what the client connects with."""

    token: str = field(repr=False)
    subject: str
    client_id: str | None
    expires_in: int
    scopes: tuple[str, ...]


def hub_subject(hub: str) -> str:
    return HUB_SUBJECT_PREFIX + _checked_hub(hub)


def person_subject(user_id: int) -> str:
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 1:
        raise ValueError(f"not a store user id: {user_id!r}")
    return f"{PERSON_SUBJECT_PREFIX}{user_id}"


def new_hub_client_id(hub: str) -> str:
    """A hub session's MQTT client id: ``hub-<hub>-`` and 32 random hex.

    Unguessable on purpose: RabbitMQ 3.10 drops the holder of a client id as soon as
    anyone with a valid token connects under it (before it checks that newcomer's
    rights), so a client id anybody could derive from the hub id lets any token holder
    push the hub off the broker.
    """
    return f"{HUB_CLIENT_ID_PREFIX}{_checked_hub(hub)}-{secrets.token_hex(16)}"


def is_hub_client_id(hub: str, client_id: str) -> bool:
    """Whether ``client_id`` is a session client id of this hub (``new_hub_client_id``)."""
    prefix = f"{HUB_CLIENT_ID_PREFIX}{_checked_hub(hub)}-"
    return (
        isinstance(client_id, str)
        and client_id.startswith(prefix)
        and HUB_SESSION_SUFFIX.fullmatch(client_id.removeprefix(prefix)) is not None
    )


def new_browser_client_id() -> str:
    """A browser tab's MQTT client id (``web-`` and 32 random hex)."""
    return BROWSER_CLIENT_ID_PREFIX + secrets.token_hex(16)


def _checked_hub(hub: str) -> str:
    if not isinstance(hub, str) or not HUB_ID.fullmatch(hub):
        raise ValueError(f"not a hub id (32 lowercase hex): {hub!r}")
    return hub


def _scope(permission: str, name: str, routing_key: str | None = None) -> str:
    resource = f"{MQTT_VHOST_IN_SCOPE}/{name}"
    if routing_key is not None:
        resource += f"/{routing_key}"
    return f"{RESOURCE_SERVER_ID}.{permission}:{resource}"


def _queue_scopes(client_id_pattern: str) -> list[str]:
    queue = f"{MQTT_QUEUE_PREFIX}{client_id_pattern}qos*"
    return [_scope(permission, queue) for permission in ("configure", "write", "read")]


def _routing_key(*levels: str) -> str:
    return ".".join((TOPIC_ROOT, *levels))


def hub_scopes(hub: str, client_id: str) -> tuple[str, ...]:
    """Publish and subscribe under ``ethos-home/<hub>/#`` only, as client ``client_id``
    (this session's, ``new_hub_client_id``): no other client id has its queue rights."""
    if not is_hub_client_id(hub, client_id):
        raise ValueError(f"not a session client id of hub {hub!r}: {client_id!r}")
    home = _routing_key(hub, "*")
    return (
        *_queue_scopes(client_id),
        _scope("read", MQTT_EXCHANGE, home),
        _scope("write", MQTT_EXCHANGE, home),
    )


def person_scopes(hubs: Iterable[str], client_id: str | None = None) -> tuple[str, ...]:
    """For each hub: subscribe to its home; publish only commands and pairing hellos.

    With ``client_id`` the queue rights are those of that client id alone; without, any
    browser client id (``web-…``), which another person's token could then share.
    """
    if client_id is not None and not BROWSER_CLIENT_ID.fullmatch(client_id):
        raise ValueError(f"not a browser client id: {client_id!r}")
    scopes = _queue_scopes(client_id or BROWSER_CLIENT_ID_PREFIX + "*")
    for hub in sorted(set(hubs)):
        _checked_hub(hub)
        scopes += [
            _scope("read", MQTT_EXCHANGE, _routing_key(hub, "*")),
            _scope("write", MQTT_EXCHANGE, _routing_key(hub, "cmd", "*")),
            _scope("write", MQTT_EXCHANGE, _routing_key(hub, "pair", "*", "hello")),
        ]
    return tuple(scopes)


def _now_seconds(now: datetime | None) -> int:
    if now is None:
        return int(time.time())
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    return int(now.timestamp())


def _mint(
    key: RSAKey,
    subject: str,
    scopes: tuple[str, ...],
    lifetime: timedelta,
    *,
    client_id: str | None,
    issuer: str | None,
    now: datetime | None,
) -> BrokerToken:
    issued = _now_seconds(now)
    expires_in = int(lifetime.total_seconds())
    claims: dict[str, object] = {
        "sub": subject,
        "aud": RESOURCE_SERVER_ID,
        "iat": issued,
        "nbf": issued,
        "exp": issued + expires_in,
        "jti": secrets.token_hex(16),
        "scope": " ".join(scopes),
    }
    if issuer:
        claims["iss"] = issuer
    if client_id:
        claims["client_id"] = client_id
    header = {"alg": ID_TOKEN_ALG, "kid": str(key.kid), "typ": "at+jwt"}
    token = jwt.encode(header, claims, key)
    return BrokerToken(
        token=token, subject=subject, client_id=client_id, expires_in=expires_in, scopes=scopes
    )


def mint_hub_token(
    key: RSAKey,
    hub: str,
    *,
    client_id: str | None = None,
    lifetime: timedelta = HUB_TOKEN_LIFETIME,
    issuer: str | None = None,
    now: datetime | None = None,
) -> BrokerToken:
    """The broker token of a hub (its store OAuth ``client_id``) for one session: it
    connects with ``BrokerToken.client_id``, ``client_id`` if given (one of
    ``new_hub_client_id(hub)``), else a fresh one."""
    session_client_id = client_id if client_id is not None else new_hub_client_id(hub)
    return _mint(
        key,
        hub_subject(hub),
        hub_scopes(hub, session_client_id),
        lifetime,
        client_id=session_client_id,
        issuer=issuer,
        now=now,
    )


def mint_person_token(
    key: RSAKey,
    user_id: int,
    hubs: Iterable[str],
    *,
    client_id: str | None = None,
    lifetime: timedelta = PERSON_TOKEN_LIFETIME,
    issuer: str | None = None,
    now: datetime | None = None,
) -> BrokerToken:
    """The broker token of a store account for the homes that let it in remotely.

    Pass ``client_id`` (e.g. ``new_browser_client_id()``) to tie the token to the one MQTT
    client id the browser must then connect with; see ``person_scopes``.
    """
    return _mint(
        key,
        person_subject(user_id),
        person_scopes(hubs, client_id),
        lifetime,
        client_id=client_id,
        issuer=issuer,
        now=now,
    )
