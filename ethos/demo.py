"""`ethos demo`: run the whole product on one machine with embedded defaults.

Today this is the cloud store (SQLite, mail written to an outbox folder). The hub, the
device simulator and the BTCPay simulator join the same command as they land.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the product locally with demo defaults",
        description="Start the Ethos store on http://127.0.0.1:8080 with demo data. "
        "Reads ETHOS_DATA_DIR (default ./.ethos-demo) and the cloud's variables.",
    )
    demo.add_argument("--fresh", action="store_true", help="start from an empty data directory")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    demo.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    import os
    import shutil
    from pathlib import Path

    from aiohttp import web

    from cloud.app import create_app
    from cloud.config import CloudSettings

    data_dir = Path(os.environ.get("ETHOS_DATA_DIR") or ".ethos-demo").resolve()
    if args.fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    os.environ["ETHOS_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("ETHOS_BASE_URL", f"http://{args.host}:{args.port}")
    settings = CloudSettings.from_env()

    def announce(_message: str) -> None:
        print(
            f"\nEthos demo is running.\n"
            f"  Store:  {settings.base_url}\n"
            f"  Mail:   {settings.outbox_dir} (confirmation links are also logged here)\n"
            f"  Data:   {data_dir}\n"
            "First: open the store, create an account, and follow the link in the mail.\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )

    web.run_app(create_app(settings), host=args.host, port=args.port, print=announce)
    return 0
