"""``ethos hub ...`` commands; imports only argparse at module level (heavy imports on use)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ethos.serve_args import add_serve_arguments

if TYPE_CHECKING:
    from hub.core.config import HubConfig

ENV_BACKUP_PASSPHRASE = "ETHOS_BACKUP_PASSPHRASE"  # noqa: S105 (the variable's name)

SERVE_HELP = """Run the local hub: core, integrations and the web UI.

Environment:
  ETHOS_DATA_DIR              data folder; the hub keeps its files in $ETHOS_DATA_DIR/hub
                              (default ~/.local/share/ethos)
  MQTT_URL                    MQTT broker, e.g. mqtt://ethos-hub:SECRET@127.0.0.1:1883; on a
                              Mosquitto with dynamic security, the plugin's admin account:
                              the hub then makes every device's account (see /broker)
                              (unset: a broker announced on the LAN as _mqtt._tcp,
                              found by zeroconf, is used; anonymous brokers only)
  ETHOS_CLOUD_URL             Ethos store / OpenID provider (default http://127.0.0.1:8080)
  ETHOS_HUB_CLIENT_ID         OAuth client id of this hub at the store (default ethos-hub)
  ETHOS_HUB_REDIRECT_URI      OAuth redirect URI (default $ETHOS_HUB_URL/auth/callback, else
                              http://HOST:PORT/auth/callback; HOSTNAME.local on 0.0.0.0)
  ETHOS_HUB_HISTORY_DAYS      days of state history to keep (default 10)
  ETHOS_HUB_DISCOVERY_PREFIX  MQTT discovery prefix (default homeassistant)
  ETHOS_HUB_NAME              the hub's name (advertised on the LAN) until the set-up flow
                              gives it one (default "Ethos hub")
  ETHOS_HUB_URL               web UI address advertised by zeroconf (default from --host/--port)
  ETHOS_HUB_ZEROCONF_INTERFACES  comma-separated IPs where the hub speaks mDNS (advertises
                              _ethos-hub._tcp, browses _mqtt._tcp); default: 127.0.0.1 when
                              --host is loopback, that address when specific, all for 0.0.0.0
  ETHOS_HUB_BLUETOOTH_ADAPTER BLE adapter for BTHome sensors, e.g. hci1 (default: system's)
  ETHOS_HUB_ACCOUNT_CHECK_MINUTES  how often the hub asks the store whether each signed-in
                              person may still come in (password reset, access revoked);
                              default 10
  ETHOS_HUB_LATITUDE, ETHOS_HUB_LONGITUDE  where the hub is, in degrees, for automations'
                              sunrise/sunset (unset: `sun` triggers and conditions are refused)
  ETHOS_HUB_TIME_ZONE         IANA time zone of `time` triggers and conditions, e.g.
                              Europe/Paris (default: the system's)
"""


BACKUP_VARIABLE_HELP = (
    "  ETHOS_BACKUP_PASSPHRASE     the passphrase (at least 10 characters); unset: asked\n"
    "                              on the terminal (it is never an option: others could see it)"
)
BACKUP_HELP = f"""Write one encrypted archive of the hub's data: its configuration, devices and
entities, the people and their sessions, the store link and the key to its secrets,
dashboards and automations; with --with-history, the state history too. scrypt and
AES-256-GCM; without the passphrase nobody can read it, nor restore it.

A running hub writes device and entity changes some seconds after they happen: the web UI's
backup (/backup, for the owner) holds everything up to the moment it is made.

Environment:
  ETHOS_DATA_DIR              data folder (the hub's is $ETHOS_DATA_DIR/hub)
{BACKUP_VARIABLE_HELP}
"""
RESTORE_HELP = f"""Replace the hub's data with a backup: the household comes back signed in and
the hub linked. Stop the hub first (`systemctl stop ethos-hub`); run this as the hub's
user. A wrong passphrase, a damaged archive or one made by a newer hub is refused and
nothing is changed. What the backup replaces is kept in $ETHOS_DATA_DIR/hub/before-restore-*.

Environment:
  ETHOS_DATA_DIR              data folder (the hub's is $ETHOS_DATA_DIR/hub)
{BACKUP_VARIABLE_HELP}
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    hub_parser = subparsers.add_parser("hub", help="the local hub (run it, manage it)")
    hub_commands = hub_parser.add_subparsers(dest="hub_command", metavar="HUB_COMMAND")
    hub_commands.required = True
    serve = hub_commands.add_parser(
        "serve",
        help="run the hub and its web UI",
        description=SERVE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_serve_arguments(serve, default_port=8181)
    serve.set_defaults(handler=serve_command)

    backup = hub_commands.add_parser(
        "backup",
        help="write an encrypted backup of the hub's data",
        description=BACKUP_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    backup.add_argument(
        "--output", "-o", help="archive to write (default: ethos-hub-DATE-TIME.ethosbackup here)"
    )
    backup.add_argument("--with-history", action="store_true", help="include the state history")
    backup.set_defaults(handler=backup_command)
    restore = hub_commands.add_parser(
        "restore",
        help="restore the hub's data from a backup (the hub must be stopped)",
        description=RESTORE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    restore.add_argument("archive", help="a file written by `ethos hub backup` or the web UI")
    restore.set_defaults(handler=restore_command)


def serve_command(args: argparse.Namespace) -> int:
    import logging

    from hub.core.config import HubConfig

    try:
        config = HubConfig.from_env(host=args.host, port=args.port)
    except ValueError as err:
        logging.getLogger(__name__).error("cannot start the hub: %s", err)
        return 2
    run_hub(config)
    return 0


def run_hub(config: HubConfig) -> None:
    """Import the hub, start it and serve its web UI until stopped (blocking). A restore
    from the web UI stops it the usual way and starts this same command again in place
    (same process id: systemd sees one service)."""
    import gc
    import os
    import signal
    import sys

    restart_wanted: list[bool] = []

    def restart() -> None:
        restart_wanted.append(True)
        os.kill(os.getpid(), signal.SIGTERM)  # aiohttp stops the app (and hub) gracefully

    # Start-up makes hundreds of thousands of objects that live as long as the hub (modules,
    # classes, schemas, registries); collecting while they are made only walks them again
    # and again (~8% of start-up). Collection resumes once the hub has started.
    gc.disable()
    try:
        import asyncio

        from aiohttp import web

        from hub.memory import release_free_heap
        from hub.serve import async_serve
        from hub.systemd import SystemdNotifier
        from hub.web.app import create_app

        app = create_app(config, restart=restart)

        async def resume_collection(_app: web.Application) -> None:
            gc.enable()
            release_free_heap()  # what the start made and dropped leaves resident memory

        app.on_startup.append(resume_collection)  # after the hub's start (cleanup_ctx)
        asyncio.run(async_serve(app, config.host, config.port, SystemdNotifier()))
    finally:
        gc.enable()
    if restart_wanted:
        os.execv(sys.executable, sys.orig_argv)  # noqa: S606 (this very command, again)


def _passphrase(confirm: bool) -> str:
    import getpass
    import os

    from hub.backup.crypto import check_passphrase

    passphrase = os.environ.get(ENV_BACKUP_PASSPHRASE)
    if passphrase is None:
        passphrase = getpass.getpass("Backup passphrase: ")
        if confirm and getpass.getpass("Same passphrase again: ") != passphrase:
            raise SystemExit("The passphrases differ; nothing was written.")
    check_passphrase(passphrase)
    return passphrase


def backup_command(args: argparse.Namespace) -> int:
    import os
    import sys
    from pathlib import Path

    from hub.backup.archive import backup_file_name, create_backup
    from hub.backup.crypto import BackupRefused
    from hub.core.config import HubConfig

    config = HubConfig.from_env()
    target = Path(args.output or backup_file_name())
    try:
        passphrase = _passphrase(confirm=True)
        if not config.hub_dir.is_dir():
            raise BackupRefused(f"there is no hub data in {config.hub_dir}")
        # Readable by whoever runs this only: the archive is sealed, but it is theirs alone.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except (BackupRefused, FileExistsError) as err:
        print(f"ethos hub backup: {err}", file=sys.stderr)
        return 1
    try:
        with os.fdopen(fd, "wb") as file:
            manifest = create_backup(config.hub_dir, file, passphrase, history=args.with_history)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    history = "with" if manifest["history_schema"] else "without"
    print(f"Wrote {target} ({target.stat().st_size:,d} bytes, {history} history).")
    return 0


def restore_command(args: argparse.Namespace) -> int:
    import sys

    from hub.backup.archive import stage_restore
    from hub.backup.crypto import BackupRefused
    from hub.backup.pending import apply_pending_restore
    from hub.core.config import HubConfig
    from hub.core.folder_lock import FolderLock, HubRunning

    config = HubConfig.from_env()
    lock = FolderLock(config.hub_dir)
    try:
        passphrase = _passphrase(confirm=False)
        lock.acquire()
        with open(args.archive, "rb") as file:
            manifest = stage_restore(file, passphrase, config.hub_dir)
        apply_pending_restore(config.hub_dir)
    except (BackupRefused, HubRunning, OSError) as err:
        print(f"ethos hub restore: {err}", file=sys.stderr)
        return 1
    finally:
        lock.release()
    print(f"Restored the backup of {manifest['created_at']} into {config.hub_dir}.")
    return 0
