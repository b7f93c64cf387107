"""Constants shared across the hub: environment variables, defaults, event names, limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

ENV_DATA_DIR: Final = "ETHOS_DATA_DIR"
ENV_CLOUD_URL: Final = "ETHOS_CLOUD_URL"
ENV_HUB_CLIENT_ID: Final = "ETHOS_HUB_CLIENT_ID"
ENV_HUB_REDIRECT_URI: Final = "ETHOS_HUB_REDIRECT_URI"
ENV_HUB_HISTORY_DAYS: Final = "ETHOS_HUB_HISTORY_DAYS"
ENV_HUB_HISTORY_COMMIT_SECONDS: Final = "ETHOS_HUB_HISTORY_COMMIT_SECONDS"

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8181
DEFAULT_DATA_DIR: Final = "~/.local/share/ethos"
DEFAULT_CLOUD_URL: Final = "http://127.0.0.1:8080"
DEFAULT_CLIENT_ID: Final = "ethos-hub"
HUB_SUBDIR: Final = "hub"
STORAGE_SUBDIR: Final = "storage"  # the JSON documents, in the hub's folder
HISTORY_FILE: Final = "history.db"
# What hubs before the JSON documents kept everything in (SQLModel tables); upgraded at start.
LEGACY_DATABASE_FILE: Final = "hub.db"
LOCK_FILE: Final = ".lock"  # held by the running hub (see hub.core.storage.FolderLock)
# The document of the hub's people, sessions, invitations and kept grants (hub/web/auth).
AUTH_STORAGE_KEY: Final = "auth"

EVENT_STATE_CHANGED: Final = "state_changed"
EVENT_HUB_STARTED: Final = "hub_started"
EVENT_HUB_STOP: Final = "hub_stop"
EVENT_DEVICE_REGISTRY_UPDATED: Final = "device_registry_updated"
EVENT_ENTITY_REGISTRY_UPDATED: Final = "entity_registry_updated"
EVENT_SERVICE_REGISTERED: Final = "service_registered"
MATCH_ALL: Final = "*"

STATE_UNAVAILABLE: Final = "unavailable"
STATE_UNKNOWN: Final = "unknown"
STATE_ON: Final = "on"
STATE_OFF: Final = "off"

ATTR_ENTITY_ID: Final = "entity_id"
ATTR_FRIENDLY_NAME: Final = "friendly_name"

DEFAULT_HISTORY_RETENTION: Final = timedelta(days=10)
# History is committed in batches this often: fewer, larger commits spare an SD card (each
# commit rewrites the index pages of every entity that changed) at the cost of losing up to
# this much history on a power cut.
DEFAULT_HISTORY_COMMIT_INTERVAL_S: Final = 5.0
HISTORY_MAX_PENDING: Final = 50_000
HISTORY_PURGE_INTERVAL_S: Final = 3600.0
HISTORY_PURGE_BATCH: Final = 2_000  # rows per purge transaction: writes stay short

# Registries change in bursts (discovery): one write this long after the first change.
REGISTRY_SAVE_DELAY_S: Final = 10.0
# A document that could not be written (a full disk) is tried again this often.
STORAGE_RETRY_S: Final = 30.0

SETUP_RETRY_FIRST_DELAY_S: Final = 5.0
SETUP_RETRY_MAX_DELAY_S: Final = 300.0

# Listen addresses that mean "every interface": not an address anyone can be sent to.
WILDCARD_HOSTS: Final = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 (recognised, not bound)

EVENT_AREA_REGISTRY_UPDATED: Final = "area_registry_updated"
EVENT_CORE_CONFIG_UPDATED: Final = "core_config_updated"  # name, place, time zone saved
# Rooms: a name has at most this many characters; a hub keeps at most this many rooms.
AREA_NAME_MAX: Final = 60
AREA_MAX: Final = 200
