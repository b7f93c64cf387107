#!/usr/bin/env python3
"""Run the remote broker (a private RabbitMQ node, cloud role) until Ctrl-C or SIGTERM.

    ETHOS_REMOTE_BROKER_ADMIN_PASSWORD=… python packaging/remote-broker/run.py \\
        --dir /var/lib/ethos-remote-broker --jwks-url https://store.example/oauth/jwks

It prints the three settings the store needs (ETHOS_REMOTE_BROKER_MQTT_URL, _WS_URL and
_ADMIN_URL, the last without its password). Ports default to free ones; the node's name,
data, logs, config and Erlang cookie live under --dir; the machine's RabbitMQ is untouched.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cloud.remote import broker_node


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="the node's own folder")
    parser.add_argument("--jwks-url", required=True, help="the store's /oauth/jwks")
    parser.add_argument("--host", default="127.0.0.1", help="address of MQTT and Web-MQTT")
    parser.add_argument("--management-host", default="127.0.0.1", help="the store's way in")
    for name in ("mqtt", "web-mqtt", "management", "dist"):
        parser.add_argument(f"--{name}-port", type=int, default=0, help="0: a free port")
    parser.add_argument("--admin-user", default=broker_node.DEFAULT_ADMIN_USER)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(message)s")
    args = parse_args(argv)
    password = os.environ.get(broker_node.ENV_ADMIN_PASSWORD, "")
    if len(password) < 16:
        print(f"set {broker_node.ENV_ADMIN_PASSWORD} (16+ characters)", file=sys.stderr)
        return 2
    free = broker_node.BrokerPorts.free(args.host)
    ports = broker_node.BrokerPorts(
        mqtt=args.mqtt_port or free.mqtt,
        web_mqtt=args.web_mqtt_port or free.web_mqtt,
        management=args.management_port or free.management,
        dist=args.dist_port or free.dist,
    )
    settings = broker_node.BrokerNodeSettings(
        directory=args.dir.resolve(),
        jwks_url=args.jwks_url,
        admin_password=password,
        ports=ports,
        host=args.host,
        management_host=args.management_host,
        admin_user=args.admin_user,
    )
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    node = broker_node.start_broker_node(settings)
    try:
        print(f"ETHOS_REMOTE_BROKER_MQTT_URL={node.mqtt_url}")
        print(f"ETHOS_REMOTE_BROKER_WS_URL={node.ws_url}")
        print(f"ETHOS_REMOTE_BROKER_ADMIN_URL={node.admin_url}")
        print(f"ETHOS_REMOTE_BROKER_ADMIN_USER={settings.admin_user}")
        print(f"remote broker ready in {node.started_in:.1f} s; Ctrl-C stops it", flush=True)
        while not stopping.wait(1.0):
            if node.process.poll() is not None:
                print("the RabbitMQ node exited:\n" + node.log()[-2000:], file=sys.stderr)
                return 1
    finally:
        node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
