"""`ethos btcpay-sim serve`: run the BTCPay simulator for development, demos and e2e tests.

Imports only argparse at module level so other components' commands stay light.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ethos.serve_args import add_serve_arguments

if TYPE_CHECKING:
    from cloud.btcpay_simulator.app import SimulatorSettings

ENV_HELP = """environment:
  ETHOS_ENV               production refuses to run the simulator
  BTCPAY_API_KEY          API key the simulator accepts (default: the cloud's development key)
  BTCPAY_STORE_ID         its one store id (default: the cloud's development store id)
  BTCPAY_SIM_PUBLIC_URL   base of checkout links (default: the address it was reached at)
  BTCPAY_SIM_RETRY_SCALE  multiply BTCPay's webhook retry delays (10 s, 1 min, 6 × 10 min),
                          e.g. 0.01 in tests (default 1)

Wiring with the store: `ethos cloud serve` (development, BTCPAY_WEBHOOK_SECRET unset) creates
its webhook here at start-up through the Greenfield API, so run the simulator first or let
the store retry; nothing else to configure.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = subparsers.add_parser(
        "btcpay-sim",
        help="a BTCPay Server simulator for development and tests",
        description="A BTCPay Server simulator (Greenfield API subset, webhooks, checkout page).",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = sim.add_subparsers(dest="sim_command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the simulator over HTTP",
        description="Serve the BTCPay simulator. Refused when ETHOS_ENV=production.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_serve_arguments(serve, default_port=8082)
    serve.set_defaults(handler=_serve)


def settings_from_env(environ: dict[str, str] | None = None) -> SimulatorSettings:
    import os
    from decimal import Decimal

    from cloud.btcpay_simulator.app import SimulatorSettings
    from cloud.payments.const import RETRY_DELAYS_SECONDS
    from cloud.payments.settings import DEVELOPMENT_BTCPAY_API_KEY, DEVELOPMENT_BTCPAY_STORE_ID

    env = os.environ if environ is None else environ
    scale = Decimal(env.get("BTCPAY_SIM_RETRY_SCALE") or "1")
    return SimulatorSettings(
        api_key=env.get("BTCPAY_API_KEY") or DEVELOPMENT_BTCPAY_API_KEY,
        store_id=env.get("BTCPAY_STORE_ID") or DEVELOPMENT_BTCPAY_STORE_ID,
        public_url=(env.get("BTCPAY_SIM_PUBLIC_URL") or "").rstrip("/") or None,
        retry_delays=tuple(float(Decimal(str(d)) * scale) for d in RETRY_DELAYS_SECONDS),
        env=(env.get("ETHOS_ENV") or "development").lower(),
    )


def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from cloud.btcpay_simulator.app import SimulatorRefused, create_simulator_app
    from ethos.event_loop import new_server_loop

    try:
        app = create_simulator_app(settings_from_env())
    except SimulatorRefused as err:
        print(f"refused: {err}", file=sys.stderr)
        return 2
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        print=lambda _msg: print(f"BTCPay simulator on http://{args.host}:{args.port}", flush=True),
        loop=new_server_loop(),
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m cloud.btcpay_simulator.cli serve --port N` (used by the e2e tier)."""
    parser = argparse.ArgumentParser(prog="python -m cloud.btcpay_simulator.cli")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["btcpay-sim", *(argv if argv is not None else sys.argv[1:])])
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
