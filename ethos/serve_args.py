"""The arguments every ``serve`` command takes (``ethos cloud serve``, ``ethos hub serve``,
``ethos btcpay-sim serve``): where to listen, with the port range checked by argparse."""

from __future__ import annotations

import argparse

DEFAULT_HOST = "127.0.0.1"
MIN_PORT = 1
MAX_PORT = 65535


def port_number(text: str) -> int:
    """A TCP port from the command line; argparse turns the error into a usage message."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text[:20]!r}") from None
    if not MIN_PORT <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"port must be between {MIN_PORT} and {MAX_PORT}, got {value}"
        )
    return value


def add_serve_arguments(
    parser: argparse.ArgumentParser, *, default_port: int, default_host: str = DEFAULT_HOST
) -> None:
    """Add ``--host`` and ``--port`` (the rest of a server's settings come from the
    environment)."""
    parser.add_argument(
        "--host", default=default_host, help=f"address to listen on ({default_host})"
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=default_port,
        help=f"port to listen on ({default_port}; {MIN_PORT}-{MAX_PORT})",
    )
