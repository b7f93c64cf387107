"""A queued mail made ready for a transport: its envelope and its message, as bytes.

Every order paid, shipped or refunded queues a mail, so composing one is on the webhook's
path. The standard library's `EmailMessage` parses each header it is given and picks a
transfer encoding by trial, about 0.7 ms a mail. The messages we send are all alike: one
plain-text UTF-8 part, our sender, a handful of subjects. So the common case is written
directly: the sender's and subjects' headers folded once by the standard library's policy
(RFC 2047 words for non-ASCII) and reused, the body sent as 7bit when it is short-lined
ASCII and as quoted-printable otherwise, which any relay carries. A recipient whose
address is not ASCII needs SMTPUTF8: that mail keeps the standard library's message,
which the SMTP client flattens for the extension.
"""

from __future__ import annotations

import binascii
import email.policy
import functools
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from cloud.mail.models import OutgoingMail

# RFC 5322 2.1.1: a line is at most 998 characters before its CRLF.
MAX_LINE = 998
_POLICY = email.policy.default
# For a recipient only SMTPUTF8 carries: UTF-8 headers (the SMTP client flattens it again).
_UTF8_POLICY = email.policy.default.clone(utf8=True)


@dataclass(frozen=True, slots=True)
class Letter:
    """What a transport needs: the envelope, the body as written, and the message."""

    sender: str  # the envelope's address (the From header's)
    recipient: str
    text: str  # the body as queued (the outbox logs its links)
    content: bytes | EmailMessage  # EmailMessage only for an address SMTPUTF8 must carry


@functools.lru_cache(maxsize=64)
def _folded(name: str, value: str) -> bytes:
    """A header as the policy writes it, for values every mail repeats (the sender, the
    few subjects)."""
    return _POLICY.header_factory(name, value).fold(policy=_POLICY).encode("ascii")


@functools.lru_cache(maxsize=8)
def envelope_address(sender: str) -> str:
    return parseaddr(sender)[1]


def _message_id(mail: OutgoingMail) -> str:
    # One id per queued mail (not per attempt): a repeated send is recognisably the same.
    return f"<outgoing-{mail.id}.{mail.created_at:%Y%m%d%H%M%S%f}@ethos.local>"


def _body(text: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, encoded body with LF line ends and a final one)."""
    lines = text.splitlines()
    body = ("\n".join(lines) + "\n").encode()
    if body.isascii() and all(len(line) <= MAX_LINE for line in lines):
        return "7bit", body
    return "quoted-printable", binascii.b2a_qp(body, istext=True)


def _standard_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    message = EmailMessage(policy=_UTF8_POLICY)
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = _message_id(mail)
    message.set_content(mail.body)
    return message


def compose(mail: OutgoingMail, sender: str) -> Letter:
    """The letter for a queued mail, from `sender` (``Name <address>``)."""
    envelope = envelope_address(sender)
    unsafe = "\r" in mail.recipient or "\n" in mail.recipient
    if not mail.recipient.isascii() or unsafe:
        # SMTPUTF8 (or a value the standard library refuses with a clear error).
        return Letter(envelope, mail.recipient, mail.body, _standard_message(mail, sender))
    encoding, body = _body(mail.body)
    head = b"".join(
        (
            _folded("From", sender),
            b"To: %s\n" % mail.recipient.encode(),
            _folded("Subject", mail.subject),
            b"Date: %s\n" % format_datetime(mail.created_at).encode(),
            b"Message-ID: %s\n" % _message_id(mail).encode(),
            b'Content-Type: text/plain; charset="utf-8"\n',
            b"Content-Transfer-Encoding: %s\n" % encoding.encode(),
            b"MIME-Version: 1.0\n\n",
        )
    )
    return Letter(envelope, mail.recipient, mail.body, head + body)
