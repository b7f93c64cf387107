"""Names and fixed values of remote access (see REMOTE.md, "Store API")."""

from __future__ import annotations

HUB_SESSION_PATH = "/api/v1/remote/hub-session"
HOME_PATH = "/home"
BROKER_TOKEN_PATH = "/home/broker-token"  # noqa: S105 (a path, not a secret)
HOME_SCRIPT = "/static/remote/home.js"

# The Authorizer's action for a person's own remote homes (session only).
ACTION_HOME = "remote.home"

# A hub-session body: a household, not a directory. Bounded before it is parsed.
MAX_MEMBERS = 100
MAX_SUBJECT_LENGTH = 64
MAX_HUB_SESSION_BYTES = 16 * 1024

# The sweep closes connections whose subject lost its rights (the once-only job).
JOB_REMOTE_SWEEP = "remote-sweep"
SWEEP_SECONDS = 30.0
# The broker's management API lists a connection only after its statistics reach it (every
# second, packaging's collect_statistics_interval, then aggregated; seconds when busy): a
# revocation closes again at these delays, for a connection made a moment before it.
RELIST_SECONDS = (1.5, 4.0, 10.0, 20.0)

ERROR_UNAVAILABLE = "remote_unavailable"

# Why a hub-session member was not let in (the answer's ``ignored``, REMOTE.md).
IGNORED_NOT_AN_ACCOUNT = "not_a_store_account"  # no confirmed store account has this `sub`
IGNORED_NOT_SIGNED_IN = "not_signed_in_to_this_hub"  # the account never signed in to it
