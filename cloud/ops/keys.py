"""Typed application keys of the operations area."""

from __future__ import annotations

from aiohttp import web

from cloud.ops.leases import JobLeases

JOBS: web.AppKey[JobLeases] = web.AppKey("job_leases", JobLeases)
