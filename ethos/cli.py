"""The `ethos` command line: one entry point whose subcommands live with their components.

Each component contributes a module with ``register(subparsers)`` that adds its commands.
Those modules import only :mod:`argparse` at import time, so ``ethos hub serve`` on a
Raspberry Pi never imports the cloud's dependencies (and vice versa).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ethos import __version__

# (module, what it is for) — order is the order of `ethos --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "cloud.cli",
    "cloud.btcpay_simulator.cli",
    "hub.cli",
    "firmware.cli",
    "cloud.recommender.cli",
    "ethos.demo",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the full parser, skipping components whose code is not present."""
    parser = argparse.ArgumentParser(
        prog="ethos",
        description="Ethos: ethical-tech smart-home store, local hub and device tools.",
    )
    parser.add_argument("--version", action="version", version=f"ethos {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debug messages (LOG_LEVEL also works)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            # Only a missing component is tolerated; a broken import inside one is a bug.
            if err.name and module_name.startswith(err.name):
                continue
            raise
        module.register(subparsers)
    return parser


def configure_logging(verbose: bool) -> None:
    """Log to stderr; LOG_LEVEL overrides the default level."""
    import os

    level = "DEBUG" if verbose else os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        result = args.handler(args)
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
