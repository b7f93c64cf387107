"""A real SMTP server (aiosmtpd) that stores every received message in a Maildir.

Used in-process by the default test tier and as a separate process in the e2e tier
(``python -m tests.support.smtp_sink --port P --maildir DIR``); both are read back
through :class:`MailCatcher`.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import mailbox
import signal
import time
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller


class MaildirHandler:
    """aiosmtpd handler: keep each message, envelope recipients included."""

    def __init__(self, maildir: Path) -> None:
        self._box = mailbox.Maildir(maildir, create=True)

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        message["X-Received-Ns"] = str(time.time_ns())
        self._box.add(message)
        return "250 Message accepted for delivery"


class MailCatcher:
    """Reads what an SMTP sink stored; the test-side view of a mailbox."""

    def __init__(self, maildir: Path, host: str, port: int) -> None:
        self.maildir = maildir
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def messages(self) -> list[EmailMessage]:
        box = mailbox.Maildir(self.maildir, create=True)
        found = []
        for key in sorted(box.keys()):
            with box.get_file(key) as handle:
                found.append(email.message_from_binary_file(handle, policy=email.policy.default))
        return sorted(found, key=lambda m: int(m["X-Received-Ns"]))

    def messages_to(self, address: str) -> list[EmailMessage]:
        address = address.lower()
        return [m for m in self.messages() if address in str(m["To"]).lower()]

    async def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> EmailMessage:
        """Wait until `address` has received `count` messages; return the latest."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.messages_to(address)
            if len(received) >= count:
                return received[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail #{count} to {address} within {timeout}s")
            await asyncio.sleep(0.05)


def start_in_process(maildir: Path, host: str = "127.0.0.1", port: int = 0) -> Controller:
    """Start a threaded aiosmtpd server; the caller stops it."""
    controller = Controller(MaildirHandler(maildir), hostname=host, port=port or _free_port(host))
    controller.start()
    return controller


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description="SMTP sink writing to a Maildir")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", type=Path, required=True)
    args = parser.parse_args()
    controller = Controller(MaildirHandler(args.maildir), hostname=args.host, port=args.port)
    controller.start()
    stop = asyncio.Event()

    async def wait() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print("ready", flush=True)
        await stop.wait()

    try:
        asyncio.run(wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
