"""Mail the demo's store writes to its outbox, told on the demo's console.

Without `SMTP_URL` every mail is an .eml file in `$ETHOS_DATA_DIR/outbox`; a newcomer
should not have to open it to find the confirmation link, so the demo prints each new
mail's recipient, subject and links as it arrives.
"""

from __future__ import annotations

import logging
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

_LINK = re.compile(r"https?://\S+")


class OutboxWatcher:
    """Reports the mails that appeared in an outbox folder since the last look."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._seen: set[str] = set()

    def new_mail_lines(self) -> list[str]:
        """One line per new mail (who, what) and one per link in it, oldest mail first."""
        if not self._directory.is_dir():
            return []
        lines: list[str] = []
        for path in sorted(self._directory.glob("*.eml")):
            if path.name in self._seen:
                continue
            self._seen.add(path.name)
            lines.extend(_describe(path))
        return lines


def _describe(path: Path) -> list[str]:
    try:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
    except OSError as err:
        _LOGGER.warning("could not read mail %s: %s", path, err)
        return []
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    lines = [f"Mail to {message['To']}: {message['Subject']}"]
    lines += [f"  open {link}" for link in dict.fromkeys(_LINK.findall(text))]
    return lines
