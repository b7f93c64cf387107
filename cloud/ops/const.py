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

# Jobs that run on one replica at a time, each under a lease of this name.
JOB_RECONCILER = "reconciler"
JOB_MAIL = "mail"
JOB_SIGNING_KEY_ROTATION = "signing-key-rotation"
JOB_RECOMMENDER_TRAINING = "recommender-training"
JOB_ADDRESS_ERASURE = "address-erasure"
JOB_LOW_STOCK = "low-stock-watch"
# A lease lasts this long unless its holder renews it (ETHOS_JOB_LEASE_SECONDS); the holder
# renews every third of it, so a dead holder's jobs move within about 1⅓ of it.
DEFAULT_LEASE_SECONDS = 15.0
MIN_LEASE_SECONDS = 1.0
MAX_LEASE_SECONDS = 600.0
RENEWALS_PER_LEASE = 3

# Request latency buckets, seconds (pages and API calls, not long downloads).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The route label of a request that matched no route (raw paths would grow without bound).
UNMATCHED_ROUTE = "unmatched"
CHECKOUT_ROUTES = frozenset({("POST", "/checkout"), ("POST", "/api/v1/orders")})
