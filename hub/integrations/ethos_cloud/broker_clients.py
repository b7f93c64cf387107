"""Broker accounts for the account's Ethos devices, kept in step with what the store says.

As soon as the store reports a unit owned, the hub creates its broker client (username
the serial, password hex HMAC-SHA256(claim_secret, "ethos-mqtt-v1"), the device role);
when the unit leaves the account, its client and role are deleted and the broker drops
its connection. Nothing happens while the broker does not enforce identity, and nothing is
deleted before the store has answered once (an empty cache is not "owns nothing").
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ethos.tasks import async_cancel_and_wait
from hub.core.callback import callback
from hub.core.events import Event
from hub.integrations.mqtt.const import EVENT_BROKER_IDENTITY
from hub.integrations.mqtt.dynsec import DynsecError
from hub.integrations.mqtt.runtime import mqtt_runtime

if TYPE_CHECKING:
    from hub.core.hub import Hub
    from hub.integrations.ethos_cloud.sync import OwnedDevicesSync
    from hub.integrations.mqtt.broker_identity import BrokerIdentity

_LOGGER = logging.getLogger(__name__)
BROKER_PASSWORD_CONTEXT = b"ethos-mqtt-v1"


def device_broker_password(claim_secret: bytes) -> str:
    """The password an Ethos device logs in with (the firmware derives the same)."""
    return hmac.new(claim_secret, BROKER_PASSWORD_CONTEXT, hashlib.sha256).hexdigest()


class DeviceBrokerClients:
    """Reconciles the broker's Ethos device clients with the owned set, one round at a time."""

    def __init__(self, hub: Hub, sync: OwnedDevicesSync) -> None:
        self._hub = hub
        self._sync = sync
        self._unsubscribes: list[Callable[[], None]] = []
        self._task: asyncio.Task | None = None
        self._again = False
        self.rounds = 0
        self.problem: str | None = None

    @callback
    def async_start(self) -> None:
        self._unsubscribes += [
            self._sync.async_listen(self.async_request),
            self._hub.bus.async_listen(EVENT_BROKER_IDENTITY, self._on_broker_checked),
        ]
        identity = self._identity()
        if identity is not None and identity.enforced:
            self.async_request()

    def _on_broker_checked(self, event: Event) -> None:
        if event.data.get("enforced"):
            self.async_request()

    async def async_stop(self) -> None:
        while self._unsubscribes:
            self._unsubscribes.pop()()
        await async_cancel_and_wait(self._task)

    def _identity(self) -> BrokerIdentity | None:
        runtime = mqtt_runtime(self._hub)
        return runtime.identity if runtime is not None else None

    @callback
    def async_request(self) -> None:
        """Reconcile soon; a request during a round runs one more round after it."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = self._hub.async_create_task(self._async_rounds(), "ethos broker clients")

    async def _async_rounds(self) -> None:
        while True:
            self._again = False
            await self.async_reconcile()
            if not self._again:
                return

    async def async_reconcile(self) -> None:
        identity = self._identity()
        if identity is None or not identity.enforced:
            return
        owned = dict(self._sync.owned)
        try:
            existing = {
                c.username for c in await identity.async_list_clients() if c.kind == "ethos"
            }
            for serial, device in owned.items():
                label = f"Ethos {device.sku} {serial}"
                password = device_broker_password(device.secret_bytes)
                if await identity.async_put_device(serial, password, label):
                    _LOGGER.info("Created the broker account of %s", serial)
            if self._sync.knows_owned:
                for serial in sorted(existing - owned.keys()):
                    await identity.async_remove_device(serial)
                    _LOGGER.info("Removed the broker account of %s: no longer owned", serial)
        except DynsecError as err:
            self.problem = str(err)
            _LOGGER.warning("Could not update device accounts on the broker: %s", err)
            return
        self.problem = None
        self.rounds += 1
