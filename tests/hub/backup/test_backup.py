"""Backups through the owner's page and the command line: a restore in the web UI restarts
the hub into the backup; a wrong passphrase, a damaged archive or one from a newer hub is
refused and nothing is changed; a running hub is never restored under."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from hub.backup.archive import create_backup, stage_restore
from hub.backup.crypto import SEGMENT, BackupRefused, BackupTooNew
from hub.core.config import HubConfig
from hub.core.models import DeviceInfo
from hub.web.app import create_app
from hub.web.auth.const import SESSION_COOKIE
from hub.web.keys import HUB_KEY
from tests.hub.common import make_config, running_hub
from tests.hub.web.conftest import sign_in
from tests.support.processes import run_python_code
from tests.support.waiting import wait_until

PASSPHRASE = "correct horse battery staple"
HEADER_SIZE = 16 + 4 + 16 + 7  # magic, format and scrypt parameters, salt, nonce prefix
Client = Callable[..., Awaitable[TestClient]]


async def _hub_with_people(aiohttp_client: Client, config: HubConfig) -> tuple[TestClient, str]:
    """A hub whose owner is signed in in ``client``; the owner's csrf token."""
    restarts: list[bool] = []
    client = await aiohttp_client(create_app(config, restart=lambda: restarts.append(True)))
    client.restarts = restarts  # type: ignore[attr-defined]
    principal = await sign_in(client, "owner-sub", "Olivia")
    return client, principal.csrf_token


async def _download(client: TestClient, csrf: str, **extra: str) -> bytes:
    fields = {"csrf": csrf, "passphrase": PASSPHRASE, "passphrase_again": PASSPHRASE, **extra}
    made = await client.post("/backup/download", data=fields)
    assert made.status == 200, await made.text()
    return await made.read()


def _upload(archive: bytes, passphrase: str, csrf: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("passphrase", passphrase)
    form.add_field("archive", archive, filename="hub.ethosbackup")
    return form


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _listing(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


async def test_a_restore_in_the_web_ui_restarts_the_hub_into_the_backup(
    aiohttp_client: Client, tmp_path: Path
) -> None:
    old, old_csrf = await _hub_with_people(aiohttp_client, make_config(tmp_path / "old"))
    hub = old.server.app[HUB_KEY]
    await hub.devices.async_get_or_create(
        DeviceInfo(identifiers=(("test", "kitchen"),), name="Kitchen sensor")
    )
    old_session = old.session.cookie_jar.filter_cookies(old.make_url("/"))[SESSION_COOKIE].value
    archive = await _download(old, old_csrf)  # the device is in it though not yet written

    config = make_config(tmp_path / "new")
    new, csrf = await _hub_with_people(aiohttp_client, config)
    before = _listing(config.hub_dir)
    wrong = await new.post("/backup/restore", data=_upload(archive, "not the passphrase", csrf))
    assert wrong.status == 400
    assert "the passphrase is wrong" in await wrong.text()
    assert _listing(config.hub_dir) == before  # nothing changed, nothing left behind

    started = await new.post("/backup/restore", data=_upload(archive, PASSPHRASE, csrf))
    assert started.status == 200
    assert 'id="backup-restoring"' in await started.text()
    await wait_until(lambda: new.restarts == [True])  # type: ignore[attr-defined]
    await new.close()

    # The hub comes back (as `ethos hub serve` re-executes itself) with the backup in place.
    again = await aiohttp_client(create_app(config))
    again.session.cookie_jar.update_cookies({SESSION_COOKIE: old_session})
    assert (await again.get("/users")).status == 200  # the backup's owner, signed in
    assert [d.name for d in again.server.app[HUB_KEY].devices.async_all()] == ["Kitchen sensor"]
    assert not (config.hub_dir / "restore-pending").exists()
    assert list(config.hub_dir.glob("before-restore-*/storage"))  # what it replaced is kept


async def test_only_the_owner_makes_or_restores_backups(
    aiohttp_client: Client, tmp_path: Path
) -> None:
    owner, _ = await _hub_with_people(aiohttp_client, make_config(tmp_path))
    member = TestClient(owner.server)
    await member.start_server()
    try:
        principal = await sign_in(member, "member-sub", "Max")
        assert principal.role == "member"
        assert (await member.get("/backup")).status == 403
        fields = {"csrf": principal.csrf_token, "passphrase": PASSPHRASE}
        made = await member.post(
            "/backup/download", data={**fields, "passphrase_again": PASSPHRASE}
        )
        assert made.status == 403
        assert 'id="nav-backup"' not in await (await member.get("/devices")).text()
        assert 'id="nav-backup"' in await (await owner.get("/devices")).text()
    finally:
        await member.close()


async def test_a_short_or_mistyped_passphrase_makes_no_backup(
    aiohttp_client: Client, tmp_path: Path
) -> None:
    owner, csrf = await _hub_with_people(aiohttp_client, make_config(tmp_path))
    short = await owner.post(
        "/backup/download", data={"csrf": csrf, "passphrase": "short", "passphrase_again": "short"}
    )
    assert short.status == 400 and "at least 10 characters" in await short.text()
    fields = {"csrf": csrf, "passphrase": PASSPHRASE, "passphrase_again": PASSPHRASE + "!"}
    mistyped = await owner.post("/backup/download", data=fields)
    assert mistyped.status == 400 and "the two passphrases differ" in await mistyped.text()


def _backup_of(hub_dir: Path, *, history: bool = False) -> bytes:
    target = io.BytesIO()
    create_backup(hub_dir, target, PASSPHRASE, history=history)
    return target.getvalue()


def _write_random(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))  # incompressible: the archive keeps its size


def _folder_with_a_file(data_dir: Path) -> Path:
    hub_dir = make_config(data_dir).hub_dir
    hub_dir.mkdir(parents=True)
    (hub_dir / "keep.txt").write_text("mine")
    return hub_dir


def _refused(archive: bytes, hub_dir: Path) -> str:
    before = _listing(hub_dir)
    with pytest.raises(BackupRefused) as refused:
        stage_restore(io.BytesIO(archive), PASSPHRASE, hub_dir)
    assert _listing(hub_dir) == before
    return str(refused.value)


async def test_damaged_cut_short_or_foreign_archives_change_nothing(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    async with running_hub(config) as hub:
        for n in range(50):
            hub.states.async_set(f"sensor.s{n}", str(n))
    _write_random(config.hub_dir / "dashboards" / "photo.bin", 3 * SEGMENT // 2)  # 2 segments
    archive = _backup_of(config.hub_dir, history=True)
    target = _folder_with_a_file(tmp_path / "target")

    flipped = bytearray(archive)
    flipped[-100] ^= 0x01
    assert "the backup is damaged" in _refused(bytes(flipped), target)
    one_segment = len(archive) - (len(archive) - HEADER_SIZE) % (SEGMENT + 16)
    assert "cut short" in _refused(archive[:one_segment], target)  # at a segment's end
    assert "the backup is damaged" in _refused(archive[:-20], target)
    assert "not an Ethos hub backup" in _refused(b"PK\x03\x04 a zip file", target)
    header = bytearray(archive)
    header[16] = 2  # the format byte of a newer hub
    assert "made by a newer version of the hub (backup format 2" in _refused(bytes(header), target)


async def test_a_backup_with_documents_from_a_newer_hub_is_refused(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    async with running_hub(config) as hub:
        await hub.devices.async_get_or_create(DeviceInfo(identifiers=(("t", "d"),)))
    _rewrite_version(config.hub_dir / "storage" / "core.device_registry.json", 9)
    archive = _backup_of(config.hub_dir)
    target = _folder_with_a_file(tmp_path / "target")
    with pytest.raises(BackupTooNew, match=r"newer version of the hub \(core.device_registry "):
        stage_restore(io.BytesIO(archive), PASSPHRASE, target)
    assert _listing(target) == {"keep.txt": b"mine"}


def _rewrite_version(path: Path, version: int) -> None:
    """As a newer hub would have written it."""
    path.write_text(json.dumps({**json.loads(path.read_text()), "version": version}))


RESTORE = "import sys; from ethos.cli import main; sys.exit(main(['hub', 'restore', sys.argv[1]]))"


async def test_the_command_line_never_restores_under_a_running_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path)
    archive = tmp_path / "hub.ethosbackup"
    async with running_hub(config) as hub:
        await hub.devices.async_get_or_create(DeviceInfo(identifiers=(("t", "d"),)))
        await hub.storage.async_flush()
        _write(archive, _backup_of(config.hub_dir))
        monkeypatch.setenv("ETHOS_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("ETHOS_BACKUP_PASSPHRASE", PASSPHRASE)
        before = _listing(config.hub_dir)
        ran = run_python_code(RESTORE, str(archive))
        assert ran.returncode == 1
        assert "a hub is running on" in ran.stderr and "stop it first" in ran.stderr
        assert _listing(config.hub_dir) == before

    monkeypatch.setenv("ETHOS_BACKUP_PASSPHRASE", "another passphrase entirely")
    ran = run_python_code(RESTORE, str(archive))
    assert ran.returncode == 1 and "the passphrase is wrong" in ran.stderr
    monkeypatch.setenv("ETHOS_BACKUP_PASSPHRASE", PASSPHRASE)
    assert run_python_code(RESTORE, str(archive)).returncode == 0
