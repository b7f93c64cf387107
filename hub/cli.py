"""``ethos hub ...`` commands; imports only argparse at module level (heavy imports on use)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.core.config import HubConfig

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
  ETHOS_HUB_NAME              name the hub advertises on the LAN (default "Ethos hub")
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
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8181, help="port to listen on (default 8181)")
    serve.set_defaults(handler=serve_command)


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
    """Import the hub, start it and serve its web UI until stopped (blocking)."""
    import gc

    # Start-up makes hundreds of thousands of objects that live as long as the hub (modules,
    # classes, schemas, registries); collecting while they are made only walks them again
    # and again (~8% of start-up). Collection resumes once the hub has started.
    gc.disable()
    try:
        from aiohttp import web

        from hub.web.app import create_app

        app = create_app(config)

        async def resume_collection(_app: web.Application) -> None:
            gc.enable()

        app.on_startup.append(resume_collection)  # after the hub's start (cleanup_ctx)
        web.run_app(app, host=config.host, port=config.port, print=None)
    finally:
        gc.enable()
