"""Remote access (issue #19, REMOTE.md): the owner reaches the home from anywhere through
the store's MQTT broker, end-to-end encrypted with a household key made at home.

Off until the owner turns it on at ``/remote`` and ticks what to share. Needs the store
link (``ethos_cloud``): the store lets the hub's registered client onto the broker with a
short-lived token. The pieces: ``sharing`` (the owner's choices), ``manager`` (the store
session and the uplink's life), ``uplink`` (the broker connection), ``commands`` (what a
browser may do), ``snapshot`` (what a browser sees), ``web`` (the page).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hub.const import EVENT_HUB_STARTED
from hub.core.events import Event
from hub.integrations.ethos_remote.const import DATA_REMOTE
from hub.integrations.ethos_remote.manager import RemoteAccess

if TYPE_CHECKING:
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)

__all__ = ["RemoteAccess", "remote_access"]


def remote_access(hub: Hub) -> RemoteAccess | None:
    return hub.data.get(DATA_REMOTE)


async def async_setup(hub: Hub) -> bool:
    remote = RemoteAccess(hub)
    await remote.async_load()
    hub.data[DATA_REMOTE] = remote

    def on_started(_event: Event) -> None:
        unlisten()
        remote.async_start()  # a hub task: the hub's stop cancels it, and the uplink with it

    unlisten = hub.bus.async_listen(EVENT_HUB_STARTED, on_started)
    return True
