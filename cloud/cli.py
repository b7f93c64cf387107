"""`ethos cloud ...`: run the store, migrate its database.

Imports only argparse at module level so other components' commands stay light.
"""

from __future__ import annotations

import argparse

from ethos.serve_args import add_serve_arguments

ENV_HELP = """environment:
  ETHOS_DATA_DIR    where data lives (default ~/.local/share/ethos)
  ETHOS_BASE_URL    public URL of the store, used in mail links (default http://127.0.0.1:8080)
  DATABASE_URL      sqlite+aiosqlite:///... (default $ETHOS_DATA_DIR/cloud.db) or postgresql://...
  ETHOS_DB_SCHEMA   PostgreSQL schema to use (default: the server's search_path)
  SMTP_URL          smtp://host:port; unset: mail goes to $ETHOS_DATA_DIR/outbox as .eml files
  ETHOS_MAIL_FROM   sender address of mails
  ETHOS_SECRET_KEY  signing key for forms; required (32+ chars) in production
  ETHOS_ENV         development (default) or production
  BTCPAY_URL        BTCPay Server base URL (default http://127.0.0.1:8082, `ethos btcpay-sim serve`)
  BTCPAY_API_KEY    Greenfield API key (store permissions: create/view invoices, modify webhooks)
  BTCPAY_STORE_ID   the BTCPay store that receives payments
  BTCPAY_WEBHOOK_SECRET  secret of the store's webhook to $ETHOS_BASE_URL/webhooks/btcpay;
                    unset in development: the store creates its webhook at start-up
  BTCPAY_SPEED_POLICY    HighSpeed, MediumSpeed (default), LowMediumSpeed or LowSpeed
  BTCPAY_INVOICE_EXPIRY_MINUTES  invoice lifetime (default 15)
  BTCPAY_CA_FILE    PEM file of a private CA that signed BTCPay's certificate (trusted
                    beside the system's CAs)
  ETHOS_RECONCILE_SECONDS  how often open invoices are re-read (default 60)
  ETHOS_LOG_FORMAT  json (one object per line, with request_id; default in production) or text
  ETHOS_METRICS_TOKEN  bearer token of /metrics (16+ chars); unset: /metrics open in
                    development, not served in production
  ETHOS_JOB_LEASE_SECONDS  once-only jobs (reconciler, mail, key rotation) move off a dead
                           replica within ~1.33 x this (default 15)
  ETHOS_TRUSTED_PROXIES    reverse proxies (addresses/CIDRs) whose X-Forwarded-For is believed
  ETHOS_OAUTH_ACCESS_TOKEN_SECONDS  OIDC access token lifetime (default 300)
  ETHOS_OAUTH_ID_TOKEN_SECONDS      ID token lifetime (default 300)
  ETHOS_OAUTH_REFRESH_TOKEN_DAYS    refresh token lifetime; each use rotates it (default 30)
  ETHOS_OAUTH_REFRESH_GRACE_SECONDS a lost refresh answer may be retried once (default 60)
  ETHOS_OAUTH_DEVICE_CODE_SECONDS   how long a hub's device code waits for approval (default 600)
  ETHOS_OAUTH_KEY_ROTATION_DAYS     age at which the ID-token signing key is replaced (default 90)
  ETHOS_MOBILE_REDIRECT_URIS        redirect URIs of the mobile web app, space-separated
                                    (default $ETHOS_BASE_URL/app/callback)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    cloud = subparsers.add_parser(
        "cloud",
        help="the store: accounts, catalog, checkout, OIDC provider",
        description="Run and administer the Ethos cloud store.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = cloud.add_subparsers(dest="cloud_command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="serve the store over HTTP",
        description=(
            "Serve the store. In development the database is migrated at start-up; in "
            "production a database behind the code's schema is refused (run `ethos cloud "
            "migrate`). While the database cannot be reached the replica answers /healthz "
            "(alive) and /readyz 503 with the reason, and starts once the database answers. "
            "/readyz also checks the schema version and BTCPay."
        ),
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_serve_arguments(serve, default_port=8080)
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser(
        "migrate",
        help="upgrade the database schema to the latest version",
        description="Apply all pending Alembic migrations to DATABASE_URL.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    migrate.set_defaults(handler=_migrate)

    backup = commands.add_parser(
        "backup",
        help="write the whole store database to a file",
        description=(
            "Write the whole database of DATABASE_URL to FILE: PostgreSQL with pg_dump in its "
            "custom format (postgresql-client of the server's major version or newer; only "
            "ETHOS_DB_SCHEMA when set), SQLite with its online backup API. Safe while the "
            "store runs. The file holds accounts and orders: it is made readable by you only. "
            "Keep ETHOS_SECRET_KEY with it: claim secrets and signing keys are sealed with it."
        ),
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    backup.add_argument("file", help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(handler=_backup)

    restore = commands.add_parser(
        "restore",
        help="put a backup into an empty database",
        description=(
            "Restore FILE (made by `ethos cloud backup`) into the database of DATABASE_URL, "
            "which must be empty (a new PostgreSQL database or schema, or a new SQLite file); "
            "a database holding tables is refused unless --force, which replaces its content. "
            "Stop every replica first; start them with the same ETHOS_SECRET_KEY."
        ),
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    restore.add_argument("file", help="the backup file to read")
    restore.add_argument(
        "--force", action="store_true", help="replace what a non-empty database holds"
    )
    restore.set_defaults(handler=_restore)

    stock = commands.add_parser(
        "stock",
        help="manage stock units",
        description="Manage the physical stock units the store sells.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stock_commands = stock.add_subparsers(dest="stock_command", metavar="COMMAND", required=True)
    stock_import = stock_commands.add_parser(
        "import",
        help="add stock units from a CSV file (serial,sku,claim_secret)",
        description=(
            "Add stock units from a CSV with the header serial,sku,claim_secret (claim_secret: "
            "64 hex digits). The whole file is checked first; one bad line imports nothing. "
            "Units already in stock with the same sku and secret are skipped. Claim secrets "
            "are stored encrypted under a key derived from ETHOS_SECRET_KEY."
        ),
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stock_import.add_argument("file", help="the CSV file")
    stock_import.set_defaults(handler=_stock_import)

    admin = commands.add_parser(
        "admin",
        help="give or take the operator role (the /admin console)",
        description=(
            "Give an account the operator role, or take it away. An operator enrols a TOTP "
            "second factor on first visit to /admin; revoking also removes that enrolment."
        ),
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    admin_commands = admin.add_subparsers(dest="admin_command", metavar="COMMAND", required=True)
    for name, text in (("grant", "make EMAIL an operator"), ("revoke", "EMAIL is no operator")):
        command = admin_commands.add_parser(name, help=text, description=text, epilog=ENV_HELP)
        command.add_argument("email", help="the account's email address")
        command.set_defaults(handler=_admin_role, grant=name == "grant")


def _settings():
    from cloud.config import CloudSettings, ConfigError

    try:
        return CloudSettings.from_env()
    except ConfigError as err:
        raise SystemExit(f"configuration error: {err}") from err


def _serve(args: argparse.Namespace) -> int:
    import os
    import sys

    from aiohttp import web

    from cloud.app import create_app
    from cloud.config import ConfigError
    from cloud.ops.logs import log_format, use_log_format
    from cloud.ops.startup import async_wait_for_database
    from ethos.event_loop import new_server_loop

    settings = _settings()
    try:
        use_log_format(log_format(os.environ, settings.production))
    except ConfigError as err:
        raise SystemExit(f"configuration error: {err}") from err
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)  # after the areas' start (cleanup_ctx)
    loop = new_server_loop()
    try:
        # Probes answer meanwhile: /healthz alive, /readyz names what is missing.
        loop.run_until_complete(async_wait_for_database(settings, args.host, args.port))
        web.run_app(
            app,
            host=args.host,
            port=args.port,
            print=lambda _msg: print(f"Ethos store on http://{args.host}:{args.port}", flush=True),
            loop=loop,
        )
    except ConfigError as err:
        print(f"refusing to serve: {err}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


async def _freeze_startup_objects(_app: object) -> None:
    """Keep what start-up made (modules, catalog, models: ~190,000 objects) out of the
    garbage collector's full passes, each of which walked them all (~100 ms here) and
    stalled every request in flight."""
    import gc

    gc.collect()
    gc.freeze()


def _migrate(args: argparse.Namespace) -> int:
    import asyncio

    from cloud import db

    settings = _settings()

    async def run() -> None:
        engine = db.create_engine(settings.database_url, settings.database_schema)
        try:
            await db.async_upgrade_to_head(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("database is at the latest schema")
    return 0


def _backup(args: argparse.Namespace) -> int:
    return _backup_or_restore("backup", args)


def _restore(args: argparse.Namespace) -> int:
    return _backup_or_restore("restore", args)


def _backup_or_restore(action: str, args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from cloud.ops import backup

    settings = _settings()
    run = backup.backup if action == "backup" else backup.restore
    try:
        print(run(settings, Path(args.file), force=args.force))
    except backup.BackupError as err:
        print(f"{action} refused: {err}", file=sys.stderr)
        return 1
    return 0


def _stock_import(args: argparse.Namespace) -> int:
    import asyncio
    import sys
    from pathlib import Path

    from cloud.inventory.cli import run_stock_import

    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        print(f"cannot read {args.file}: {err}", file=sys.stderr)
        return 1
    return asyncio.run(run_stock_import(_settings(), text))


def _admin_role(args: argparse.Namespace) -> int:
    import asyncio

    from cloud.admin.cli import run_role_change

    return asyncio.run(run_role_change(_settings(), args.email, grant=args.grant))
