"""HTTP plumbing shared by the cloud's areas: app keys, middlewares, sessions, rendering."""

from __future__ import annotations
