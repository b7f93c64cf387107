"""A backup made by the owner brings the household back on a fresh install: the same
people, signed in where they were, the hub still linked to the store."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from hub.integrations.ethos_cloud import cloud_runtime
from hub.integrations.ethos_cloud.sync import SyncStatus
from hub.web.app import create_app
from hub.web.keys import CONFIG_KEY, HUB_KEY
from tests.hub.web.linked_home import LinkedHome, linked_home_factory  # noqa: F401
from tests.support.processes import run_python_code

PASSPHRASE = "a long and private passphrase"
RESTORE = "import sys; from ethos.cli import main; sys.exit(main(['hub', 'restore', sys.argv[1]]))"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _restore_with_the_cli(archive: Path, data_dir: Path) -> str:
    environment = {"ETHOS_DATA_DIR": str(data_dir), "ETHOS_BACKUP_PASSPHRASE": PASSPHRASE}
    previous = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        ran = run_python_code(RESTORE, str(archive))
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


async def _same_browser(server: TestServer, before: TestClient) -> TestClient:
    """The browser that was on the old hub, at the same address: it keeps its cookies."""
    client = TestClient(server)
    await client.start_server()
    client.session.cookie_jar.update_cookies({c.key: c.value for c in before.session.cookie_jar})
    return client


async def test_a_backup_brings_the_household_back_on_a_fresh_install_signed_in_and_linked(
    linked_home_factory: Callable[..., Awaitable[LinkedHome]],  # noqa: F811
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    unique_id: str,
    tmp_path: Path,
) -> None:
    home = await linked_home_factory()
    owner_account = await home.person(f"owner-{unique_id}@example.org")
    owner = await home.browser()
    await home.link(owner, owner_account)
    assert (await home.sign_in(owner, owner_account)).status == 303
    member_email = f"member-{unique_id}@example.org"
    await owner.post(
        "/users/invitations", data={"csrf": await home.csrf(owner), "email": member_email}
    )
    member = await home.browser()
    assert (await home.sign_in(member, await home.person(member_email))).status == 303
    old_config = home.app[CONFIG_KEY]
    _write(old_config.hub_dir / "automations.yaml", b"- alias: Hall light\n")

    made = await owner.post(
        "/backup/download",
        data={
            "csrf": await home.csrf(owner),
            "passphrase": PASSPHRASE,
            "passphrase_again": PASSPHRASE,
            "history": "on",
        },
    )
    assert made.status == 200, await made.text()
    assert made.headers["Cache-Control"] == "no-store"
    assert made.headers["Content-Disposition"].startswith('attachment; filename="ethos-hub-')
    archive = await made.read()
    assert member_email.encode() not in archive  # sealed
    port = home.hub_server.port
    await home.hub_server.close()  # the old hub's SD card is gone

    fresh = dataclasses.replace(old_config, data_dir=tmp_path / "fresh")
    _write(tmp_path / "backup.ethosbackup", archive)
    restored = _restore_with_the_cli(tmp_path / "backup.ethosbackup", fresh.data_dir)
    assert "Restored the backup" in restored
    # The new hub answers at the old one's address (the store knows it by it).
    server = await aiohttp_server(create_app(fresh), port=port)
    owner_again = await _same_browser(server, owner)
    member_again = await _same_browser(server, member)
    try:
        people = await owner_again.get("/users")
        assert people.status == 200  # the owner is still signed in
        assert member_email in await people.text()
        assert (await member_again.get("/devices", allow_redirects=False)).status == 200
        assert (await member_again.get("/users")).status == 403  # still a member
        runtime = cloud_runtime(server.app[HUB_KEY])
        assert runtime is not None  # still linked: the link's secrets open with the kept key
        await runtime.sync.async_sync_once()
        assert runtime.sync.status is SyncStatus.OK
        automations = fresh.hub_dir / "automations.yaml"
        assert automations.read_bytes() == b"- alias: Hall light\n"
    finally:
        await owner_again.close()
        await member_again.close()
