"""The owner's backups: download one (encrypted with their passphrase) and restore one.

A restore is checked completely before anything changes (a wrong passphrase, a damaged
archive or one from a newer hub is refused with the reason); then the hub restarts and puts
it in place before it loads anything (``hub.backup.pending``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import tempfile
from pathlib import Path

import aiohttp_jinja2
from aiohttp import web

from hub.backup.crypto import MIN_PASSPHRASE, BackupRefused, check_passphrase
from hub.web.authz import Action, require
from hub.web.context import page_context
from hub.web.forms import async_read_form
from hub.web.keys import HUB_KEY, PRINCIPAL_KEY, RESTART_KEY

_LOGGER = logging.getLogger(__name__)
routes = web.RouteTableDef()
RESTART_DELAY_S = 1.0  # the answer reaches the browser first


async def _async_page(request: web.Request, status: int = 200, **values: object) -> web.Response:
    values.setdefault("problem", None)
    values.setdefault("restoring", None)
    response = aiohttp_jinja2.render_template(
        "backup.html", request, page_context(request, min_passphrase=MIN_PASSPHRASE, **values)
    )
    response.set_status(status)
    return response


@routes.get("/backup")
async def backup_page(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.MANAGE_BACKUPS)
    return await _async_page(request)


@routes.post("/backup/download")
async def download_backup(request: web.Request) -> web.StreamResponse:
    require(request[PRINCIPAL_KEY], Action.MANAGE_BACKUPS)
    form = await async_read_form(request)
    passphrase = str(form.get("passphrase", ""))
    try:
        check_passphrase(passphrase)
        if passphrase != str(form.get("passphrase_again", "")):
            raise BackupRefused("the two passphrases differ")
    except BackupRefused as err:
        return await _async_page(request, 400, problem=str(err))
    hub = request.app[HUB_KEY]
    await hub.storage.async_flush()  # what changed a moment ago is in the backup too
    await hub.recorder.async_flush()
    from hub.backup.archive import backup_file_name  # archives (tarfile) load on demand

    loop = asyncio.get_running_loop()
    history = form.get("history") == "on"
    path = await loop.run_in_executor(
        None, _archive_to_file, hub.config.hub_dir, passphrase, history
    )
    try:
        response = web.FileResponse(
            path,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Disposition": f'attachment; filename="{backup_file_name()}"',
                # Sent from here (the file goes right after), before the security middleware
                # would add these to the answer.
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
        await response.prepare(request)
        return response
    finally:
        await loop.run_in_executor(None, functools.partial(path.unlink, missing_ok=True))


def _archive_to_file(hub_dir: Path, passphrase: str, history: bool) -> Path:
    """The sealed archive in a temporary file of the hub's folder (a Pi's /tmp is memory)."""
    from hub.backup.archive import create_backup

    fd, name = tempfile.mkstemp(dir=hub_dir, prefix=".backup-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            create_backup(hub_dir, file, passphrase, history=history)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


@routes.post("/backup/restore")
async def restore_backup(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.MANAGE_BACKUPS)
    form = await async_read_form(request)
    upload = form.get("archive")
    passphrase = str(form.get("passphrase", ""))
    if not isinstance(upload, web.FileField):
        return await _async_page(request, 400, problem="choose the backup file to restore")
    from hub.backup.archive import stage_restore

    hub = request.app[HUB_KEY]
    try:
        manifest = await asyncio.get_running_loop().run_in_executor(
            None, stage_restore, upload.file, passphrase, hub.config.hub_dir
        )
    except BackupRefused as err:
        return await _async_page(request, 400, problem=str(err))
    finally:
        with contextlib.suppress(OSError):
            upload.file.close()
    _LOGGER.warning("The owner restores the backup of %s; restarting", manifest["created_at"])
    asyncio.get_running_loop().call_later(RESTART_DELAY_S, request.app[RESTART_KEY])
    return await _async_page(request, restoring=manifest["created_at"])
