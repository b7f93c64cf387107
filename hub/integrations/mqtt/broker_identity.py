"""Broker-enforced device identity: the hub administers Mosquitto's dynamic-security plugin.

On every connection the hub checks that the broker enforces identity: the plugin answers
the hub's commands (so the hub's account is its admin) and anonymous clients are refused.
It gives itself the ``ethos-hub`` role (publish and read every normal topic) beside the
plugin's admin role, then manages one client and one role per device:

* an Ethos device logs in as ``<serial>``; its role may publish ``ethos/<serial>/#`` except
  its ``claim/challenge`` and its own discovery configs, and read only its commands, its
  claim challenge and the hub's status;
* a third-party device (Tasmota, ESPHome, Zigbee2MQTT) gets ``ext-<name>`` with the same
  shape scoped to a topic base and a discovery node id the owner chose.

When the broker does not enforce identity (anonymous Mosquitto, the demo's embedded
broker) the hub keeps working and says so loudly: a warning in the log and on /broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import re
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt

from ethos.tasks import async_cancel_and_wait
from hub.core.callback import callback
from hub.integrations.mqtt.client import MqttClient
from hub.integrations.mqtt.const import (
    DEVICE_ROLE_PREFIX,
    DYNSEC_TIMEOUT_S,
    HUB_ROLE,
    THIRD_PARTY_ROLE_PREFIX,
    THIRD_PARTY_USER_PREFIX,
)
from hub.integrations.mqtt.dynsec import DynsecChannel, DynsecError, DynsecTimeout

_LOGGER = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
NODE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
BASE_LEVEL_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_BASE_LEVELS = 4
# Deny rules outrank the allows they carve out of (higher priority is evaluated first).
DENY_PRIORITY = 10


class IdentityStatus(enum.StrEnum):
    CHECKING = "checking"
    ENFORCED = "enforced"
    NOT_ENFORCED = "not_enforced"


def _acl(acltype: str, topic: str, allow: bool = True, priority: int = 0) -> dict[str, Any]:
    return {"acltype": acltype, "topic": topic, "allow": allow, "priority": priority}


def device_acls(serial: str, prefix: str) -> list[dict[str, Any]]:
    """What an Ethos device may do: its own topics, never the hub's claim challenge."""
    own = f"ethos/{serial}"
    return [
        _acl("publishClientSend", f"{own}/#"),
        _acl("publishClientSend", f"{own}/claim/challenge", False, DENY_PRIORITY),
        _acl("publishClientSend", f"{prefix}/+/{serial}/+/config"),
        _acl("subscribePattern", f"{own}/set/#"),
        _acl("subscribeLiteral", f"{own}/claim/challenge"),
        _acl("subscribeLiteral", f"{prefix}/status"),
    ]


def third_party_acls(base: str, node_id: str, prefix: str) -> list[dict[str, Any]]:
    """The same shape for a third-party device, scoped to the base the owner gave."""
    return [
        _acl("publishClientSend", f"{base}/#"),
        _acl("publishClientSend", f"{prefix}/+/{node_id}/+/config"),
        _acl("publishClientSend", f"{prefix}/device/{node_id}/config"),
        _acl("subscribePattern", f"{base}/#"),
        _acl("subscribeLiteral", f"{prefix}/status"),
    ]


def hub_acls() -> list[dict[str, Any]]:
    return [
        _acl("publishClientSend", "#"),
        _acl("publishClientReceive", "#"),
        _acl("subscribePattern", "#"),
        _acl("unsubscribePattern", "#"),
    ]


def _acl_set(acls: object) -> set[tuple[str, str, bool, int]]:
    if not isinstance(acls, list):
        return set()
    return {
        (
            str(a.get("acltype")),
            str(a.get("topic")),
            bool(a.get("allow")),
            int(a.get("priority", 0)),
        )
        for a in acls
        if isinstance(a, dict)
    }


@dataclass(frozen=True)
class BrokerClient:
    """A client the hub made on the broker (read back from the plugin)."""

    username: str
    kind: str  # "ethos" or "third_party"
    label: str
    base: str | None = None
    node_id: str | None = None


@dataclass(frozen=True)
class NewCredential:
    """Shown to the owner once; the hub keeps no copy of the password."""

    username: str
    password: str
    base: str
    node_id: str


def third_party_refusal(
    name: str,
    base: str,
    node_id: str,
    prefix: str,
    existing: list[BrokerClient],
    reserved: set[str],
) -> str | None:
    """Why a third-party credential cannot be made with these values (None: it can)."""
    if not NAME_PATTERN.match(name):
        return "the name must be 1-32 lowercase letters, digits, '-' or '_'"
    levels = base.split("/")
    if len(levels) > MAX_BASE_LEVELS or not all(BASE_LEVEL_PATTERN.match(p) for p in levels):
        return (
            "the topic base must be 1-4 levels of letters, digits, '-' or '_' (e.g. tasmota/plug1)"
        )
    if levels[0] == "ethos" or base == prefix or base.startswith(prefix + "/"):
        return "the topic base may not lie under ethos/ or the discovery prefix"
    if not NODE_ID_PATTERN.match(node_id):
        return "the node id must be letters, digits, '-' or '_'"
    if node_id.lower() in {r.lower() for r in reserved}:
        return "that node id belongs to an Ethos device"
    username = THIRD_PARTY_USER_PREFIX + name
    for client in existing:
        if client.username == username:
            return "a credential with that name exists"
        if client.node_id and client.node_id.lower() == node_id.lower():
            return f"node id {node_id} is used by {client.username}"
        if client.base and (
            client.base == base
            or client.base.startswith(base + "/")
            or base.startswith(client.base + "/")
        ):
            return f"topic base {base} overlaps {client.username}'s {client.base}"
    return None


class BrokerIdentity:
    """Checks the broker on every connection; creates and removes device clients."""

    def __init__(self, client: MqttClient, prefix: str, timeout: float = DYNSEC_TIMEOUT_S) -> None:
        self._client = client
        self.prefix = prefix
        self._channel = DynsecChannel(client, timeout)
        self.status = IdentityStatus.CHECKING
        self.problem: str | None = None
        self._listeners: list[Callable[[], None]] = []
        self._unsubscribes: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._check_again = False
        self._role_request: asyncio.Task[None] | None = None
        self.checked = asyncio.Event()
        self._lock = asyncio.Lock()

    @property
    def enforced(self) -> bool:
        return self.status is IdentityStatus.ENFORCED

    # Lifecycle ---------------------------------------------------------------
    async def async_start(self) -> None:
        self._unsubscribes.append(await self._channel.async_start())
        self._unsubscribes.append(self._client.async_on_connect(self._on_connect))

    async def async_stop(self) -> None:
        while self._unsubscribes:
            self._unsubscribes.pop()()
        await async_cancel_and_wait(self._task, self._role_request)

    @callback
    def async_listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after each check (every connection), enforced or not."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _on_connect(self) -> None:
        if self._task is not None and not self._task.done():
            self._check_again = True  # a check of the previous connection is still running
            return
        self._task = asyncio.get_running_loop().create_task(
            self._async_checks(), name="mqtt broker identity check"
        )

    # The check ---------------------------------------------------------------
    async def _async_checks(self) -> None:
        while True:
            self._check_again = False
            await self._async_check()
            if not self._check_again:
                return

    async def _async_check(self) -> None:
        self.status, self.problem = IdentityStatus.CHECKING, None
        problem = await self._async_anonymous_problem()
        try:
            ready = await self._async_ensure_hub_role()
        except DynsecTimeout:
            problem = problem or (
                "no dynamic-security plugin answered the hub (a broker without it, or "
                "MQTT_URL does not name its admin account)"
            )
            ready = True
        except DynsecError as err:
            problem = problem or f"the dynamic-security plugin refused the hub: {err}"
            ready = True
        if not ready:
            return  # the broker drops us to apply the hub's new role; the next check decides
        if problem is None:
            self.status = IdentityStatus.ENFORCED
            _LOGGER.info("MQTT broker %s enforces device identity", self._client.address)
        else:
            self.status, self.problem = IdentityStatus.NOT_ENFORCED, problem
            _LOGGER.warning(
                "Device identity is NOT enforced by MQTT broker %s: %s. Any client on the "
                "network can speak for any device.",
                self._client.address,
                problem,
            )
        self.checked.set()
        for listener in list(self._listeners):
            listener()

    async def _async_anonymous_problem(self) -> str | None:
        address = self._client.address
        probe = aiomqtt.Client(
            address.host,
            address.port,
            identifier=f"ethos-hub-probe-{secrets.token_hex(4)}",
            tls_context=ssl.create_default_context() if address.tls else None,
            timeout=self._channel.timeout,
        )
        try:
            async with asyncio.timeout(self._channel.timeout), probe:
                pass
        except aiomqtt.MqttCodeError:
            return None  # refused: anonymous access is off
        except (aiomqtt.MqttError, TimeoutError, OSError) as err:
            return f"could not check anonymous access ({err})"
        return "the broker accepts anonymous clients"

    async def _async_ensure_hub_role(self) -> bool:
        """True when the hub already has its role; False after asking for it."""
        username = self._client.address.username
        if not username:
            raise DynsecError("getClient", "the hub connects without a username")
        data = await self._channel.async_call({"command": "getClient", "username": username})
        roles = {r.get("rolename") for r in data.get("client", {}).get("roles", [])}
        if HUB_ROLE in roles:
            return True
        await self._async_put_role(HUB_ROLE, hub_acls())
        _LOGGER.info("Giving the hub's broker account %s the %s role", username, HUB_ROLE)
        # The plugin disconnects a client whose roles change, so the answer may never come:
        # nobody waits for it; the check after the reconnection sees the role.
        self._role_request = asyncio.get_running_loop().create_task(
            self._async_request_role(username), name="mqtt hub role"
        )
        return False

    async def _async_request_role(self, username: str) -> None:
        command = {"command": "addClientRole", "username": username, "rolename": HUB_ROLE}
        with contextlib.suppress(DynsecError):
            await self._channel.async_run(command)

    async def _async_put_role(self, rolename: str, acls: list[dict[str, Any]]) -> None:
        """Create the role, or make its ACLs exactly these (which reconnects its clients)."""
        try:
            current = await self._channel.async_call({"command": "getRole", "rolename": rolename})
        except DynsecError:
            await self._channel.async_call(
                {"command": "createRole", "rolename": rolename, "acls": acls}
            )
            return
        if _acl_set(current.get("role", {}).get("acls")) != _acl_set(acls):
            await self._channel.async_call(
                {"command": "modifyRole", "rolename": rolename, "acls": acls}
            )

    # Clients -----------------------------------------------------------------
    async def async_list_clients(self) -> list[BrokerClient]:
        """The device clients this hub made, read back from the plugin."""
        data = await self._channel.async_call(
            {"command": "listClients", "verbose": True, "count": -1, "offset": 0}
        )
        found = []
        for raw in data.get("clients", []):
            if not isinstance(raw, dict):
                continue
            username = str(raw.get("username", ""))
            roles = {r.get("rolename") for r in raw.get("roles", []) if isinstance(r, dict)}
            label = str(raw.get("textname") or username)
            if DEVICE_ROLE_PREFIX + username in roles:
                found.append(BrokerClient(username, "ethos", label))
            elif username.startswith(THIRD_PARTY_USER_PREFIX) and (
                THIRD_PARTY_ROLE_PREFIX + username[len(THIRD_PARTY_USER_PREFIX) :] in roles
            ):
                scope = _scope(raw.get("textdescription"))
                found.append(
                    BrokerClient(
                        username, "third_party", label, scope.get("base"), scope.get("node_id")
                    )
                )
        return found

    async def async_put_device(self, serial: str, password: str, label: str) -> bool:
        """Make sure the Ethos device's client and role exist; True when newly created."""
        async with self._lock:
            await self._async_put_role(
                DEVICE_ROLE_PREFIX + serial, device_acls(serial, self.prefix)
            )
            try:
                await self._channel.async_call({"command": "getClient", "username": serial})
                return False
            except DynsecTimeout:
                raise
            except DynsecError:
                pass
            await self._channel.async_call(
                {
                    "command": "createClient",
                    "username": serial,
                    "password": password,
                    "textname": label,
                    "roles": [{"rolename": DEVICE_ROLE_PREFIX + serial}],
                }
            )
            return True

    async def async_remove_device(self, serial: str) -> None:
        """Delete the device's client (the broker disconnects it) and its role."""
        await self._async_remove(serial, DEVICE_ROLE_PREFIX + serial)

    async def async_create_third_party(
        self, name: str, base: str, node_id: str, label: str, reserved: set[str]
    ) -> NewCredential:
        """A new credential; DynsecError (with the reason) when the values are refused."""
        async with self._lock:
            existing = await self.async_list_clients()
            reason = third_party_refusal(name, base, node_id, self.prefix, existing, reserved)
            if reason is not None:
                raise DynsecError("createClient", reason)
            username = THIRD_PARTY_USER_PREFIX + name
            rolename = THIRD_PARTY_ROLE_PREFIX + name
            await self._async_put_role(rolename, third_party_acls(base, node_id, self.prefix))
            password = secrets.token_urlsafe(24)
            await self._channel.async_call(
                {
                    "command": "createClient",
                    "username": username,
                    "password": password,
                    "textname": label[:100] or name,
                    "textdescription": json.dumps({"base": base, "node_id": node_id}),
                    "roles": [{"rolename": rolename}],
                }
            )
            return NewCredential(username, password, base, node_id)

    async def async_remove_third_party(self, username: str) -> None:
        if not username.startswith(THIRD_PARTY_USER_PREFIX):
            raise DynsecError("deleteClient", "not a third-party credential")
        name = username[len(THIRD_PARTY_USER_PREFIX) :]
        await self._async_remove(username, THIRD_PARTY_ROLE_PREFIX + name)

    async def _async_remove(self, username: str, rolename: str) -> None:
        async with self._lock:
            for command in (
                {"command": "deleteClient", "username": username},
                {"command": "deleteRole", "rolename": rolename},
            ):
                try:
                    await self._channel.async_call(command)
                except DynsecTimeout:
                    raise
                except DynsecError as err:  # already gone: the goal is reached
                    _LOGGER.debug("Broker: %s", err)


def _scope(text: object) -> dict[str, str]:
    try:
        data = json.loads(str(text))
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: str(v) for k, v in data.items() if k in ("base", "node_id")}
