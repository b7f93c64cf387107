"""`ethos demo`: the whole product on one machine, with embedded defaults.

Starts, in order, its own MQTT broker (Mosquitto with its dynamic-security plugin in the
data directory, the hub as its admin and every device on its own account; on 1883, or a
free port when 1883 is taken; without Mosquitto, an embedded amqtt broker that does NOT
enforce device identity), the BTCPay simulator (8082), the cloud store (8080) with demo
stock whose serials include the simulated device's, the hub (8181) and a simulated
presence detector. Each runs as its own process, exactly as in production; Ctrl-C stops
them all, newest first. The data directory is kept between runs unless `--fresh`.
"""

from __future__ import annotations

import argparse

DEMO_SERIAL = "EPD-000123"
DEMO_DIR_DEFAULT = ".ethos-demo"


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the whole product locally with demo defaults",
        description=(
            "Start broker, BTCPay simulator, store, hub and a simulated presence detector "
            "on this machine, print the URLs and what to do first; Ctrl-C stops all."
        ),
        epilog=(
            "environment: ETHOS_DATA_DIR (default ./.ethos-demo), LOG_LEVEL; the store's "
            "SMTP_URL is honoured (unset: mails go to $ETHOS_DATA_DIR/outbox)."
        ),
    )
    demo.add_argument("--fresh", action="store_true", help="start from an empty data directory")
    demo.add_argument("--host", default="127.0.0.1", help="address every service listens on")
    demo.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from ethos.demo_runner import DemoRunner

    return DemoRunner(fresh=args.fresh, host=args.host).run()
