"""Constants of the operations area: probe paths, timeouts and lease timing."""

from __future__ import annotations

HEALTHZ_PATH = "/healthz"
READYZ_PATH = "/readyz"
METRICS_PATH = "/metrics"

# Each readiness check gives up after this long (a probe must answer quickly).
READY_CHECK_TIMEOUT_SECONDS = 2.0
# How often a replica waiting for its database tries again.
DATABASE_WAIT_RETRY_SECONDS = 2.0
# A reason longer than this is cut (error texts from drivers can be long).
REASON_MAX_CHARS = 300
