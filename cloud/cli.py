"""`ethos cloud ...`: run the store, migrate its database.

Imports only argparse at module level so other components' commands stay light.
"""

from __future__ import annotations

import argparse

ENV_HELP = """environment:
  ETHOS_DATA_DIR    where data lives (default ~/.local/share/ethos)
  ETHOS_BASE_URL    public URL of the store, used in mail links (default http://127.0.0.1:8080)
  DATABASE_URL      sqlite+aiosqlite:///... (default $ETHOS_DATA_DIR/cloud.db) or postgresql://...
  ETHOS_DB_SCHEMA   PostgreSQL schema to use (default: the server's search_path)
  SMTP_URL          smtp://host:port; unset: mail goes to $ETHOS_DATA_DIR/outbox as .eml files
  ETHOS_MAIL_FROM   sender address of mails
  ETHOS_SECRET_KEY  signing key for forms; required (32+ chars) in production
  ETHOS_ENV         development (default) or production
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
        description="Serve the store. In development the database is migrated at start-up.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser(
        "migrate",
        help="upgrade the database schema to the latest version",
        description="Apply all pending Alembic migrations to DATABASE_URL.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    migrate.set_defaults(handler=_migrate)


def _settings():
    from cloud.config import CloudSettings, ConfigError

    try:
        return CloudSettings.from_env()
    except ConfigError as err:
        raise SystemExit(f"configuration error: {err}") from err


def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from cloud.app import create_app

    settings = _settings()
    web.run_app(
        create_app(settings),
        host=args.host,
        port=args.port,
        print=lambda _msg: print(f"Ethos store on http://{args.host}:{args.port}", flush=True),
    )
    return 0


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
