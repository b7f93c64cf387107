"""Names, topics, limits and timings of remote access (wire formats: REMOTE.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.core.hub_data import HubKey

if TYPE_CHECKING:
    from hub.integrations.ethos_remote.manager import RemoteAccess
    from hub.integrations.ethos_remote.members import Members

DOMAIN: Final = "ethos_remote"

# The owner's choices: remote access on/off and the shared entities (a hub document).
SHARING_STORAGE_KEY: Final = "ethos_remote.sharing"
SHARING_STORAGE_VERSION: Final = 1


# The hub's broker username is ``hub-<client_id>`` (its token's subject); its MQTT client id
# is the one the store tied the session's token to (``RemoteHubSession.client_id``).
HUB_USERNAME_PREFIX: Final = "hub-"

# Topics under the store's ``topic_root`` (``ethos-home/<hub>``).
STATE_TOPIC: Final = "{root}/state"  # the snapshot's part 0
STATE_PART_TOPIC: Final = "{root}/state/{part}"  # its parts 1 … parts - 1
EVENT_TOPIC: Final = "{root}/event"
CMD_TOPIC: Final = "{root}/cmd/{browser}"
REPLY_TOPIC: Final = "{root}/reply/{browser}"
HELLO_TOPIC: Final = "{root}/pair/{browser}/hello"

SNAPSHOT_MIN_INTERVAL_S: Final = 1.0  # at most one snapshot a second
HEARTBEAT_S: Final = 30.0  # the snapshot again even when nothing changed
MAX_QUEUED_EVENTS: Final = 100  # per-entity events waiting while the broker is slow
# Ask the store for a fresh token this long before the current one expires.
TOKEN_REFRESH_MARGIN_S: Final = 60.0
# How often the members (hub users) and the link are compared with what the store was told.
RECONCILE_INTERVAL_S: Final = 5.0
STORE_TIMEOUT_S: Final = 10.0
DISCONNECT_TIMEOUT_S: Final = 2.0

# What the snapshot offers per entity domain: the hub service, its label, the data field.
CONTROLS: Final[dict[str, tuple[tuple[str, str, str | None], ...]]] = {
    "switch": (("turn_on", "On", None), ("turn_off", "Off", None)),
    "light": (("turn_on", "On", None), ("turn_off", "Off", None)),
    "button": (("press", "Press", None),),
    "number": (("set_value", "Set", "value"),),
    "select": (("select_option", "Choose", "option"),),
}

# The hub's people as remote access sees them (given by the web UI, which holds them).
DATA_MEMBERS: Final[HubKey[Members]] = HubKey("ethos_remote_members")
DATA_REMOTE: Final[HubKey[RemoteAccess]] = HubKey(DOMAIN)
COMMAND_TIMEOUT_S: Final = 10.0  # a remote command waits this long for its service
MAX_RUNNING_COMMANDS: Final = 8  # more at once are refused ("busy"), not queued
STORE_RETRY_S: Final = 60.0  # after the store failed to answer, ask again this much later
