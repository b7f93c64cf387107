"""Keys, file names and limits of the automation engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.core.hub_data import HubKey

if TYPE_CHECKING:
    from hub.integrations.automation.clock import Clock
    from hub.integrations.automation.engine import AutomationEngine

DOMAIN: Final = "automation"
AUTOMATIONS_FILE: Final = "automations.yaml"
STATE_DIR: Final = "automation"  # under the hub's folder: traces and the edit log
TRACES_FILE: Final = "traces.json"
EDIT_LOG_FILE: Final = "edits.json"

SERVICE_RELOAD: Final = "reload"
SERVICE_TRIGGER: Final = "trigger"
SERVICE_TURN_ON: Final = "turn_on"
SERVICE_TURN_OFF: Final = "turn_off"
SERVICE_NOTIFY: Final = "notify"  # the hub notification shown in the UI

EVENT_AUTOMATION_TRIGGERED: Final = "automation_triggered"
EVENT_AUTOMATIONS_RELOADED: Final = "automations_reloaded"
EVENT_NOTIFICATION: Final = "hub_notification"

MODES: Final = ("single", "restart", "queued", "parallel")
DEFAULT_MAX_RUNS: Final = 10
TRACES_KEPT: Final = 10  # runs per automation
EDITS_KEPT: Final = 500
NOTIFICATIONS_KEPT: Final = 50

# An automation started this many times within the window is looping (it triggers itself,
# or two automations trigger each other): it is throttled until the window passes.
LOOP_MAX_RUNS: Final = 20
LOOP_WINDOW_S: Final = 1.0
LOOP_PAUSE_S: Final = 10.0

MAX_REPEAT: Final = 10_000  # turns of one `repeat` (count, while, until)
MAX_NESTING: Final = 16  # actions inside actions (choose, if, repeat, parallel)
MAX_FILE_BYTES: Final = 2 * 1024 * 1024
MAX_AUTOMATIONS: Final = 5000

TEMPLATE_CPU_SECONDS: Final = 0.005
TEMPLATE_CACHE_BYTES: Final = 4 * 1024 * 1024

ENV_LATITUDE: Final = "ETHOS_HUB_LATITUDE"
ENV_LONGITUDE: Final = "ETHOS_HUB_LONGITUDE"
ENV_TIME_ZONE: Final = "ETHOS_HUB_TIME_ZONE"

# A clock given to the engine before the hub starts (``hub.data[DATA_CLOCK]``): tests and
# benchmarks drive time with a ManualClock; otherwise the engine runs on the real loop.
DATA_CLOCK: Final[HubKey[Clock]] = HubKey("automation_clock")
# Where the integration keeps its engine (``automation_engine(hub)`` reads it).
DATA_ENGINE: Final[HubKey[AutomationEngine]] = HubKey(DOMAIN)
