"""Composed mail reads back, through the standard library's parser, as what was queued:
plain ASCII, non-ASCII text, very long lines, and addresses only SMTPUTF8 carries."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage

import pytest

from cloud.mail.letters import MAX_LINE, compose
from cloud.mail.models import OutgoingMail

SENDER = "Ethos <no-reply@ethos.local>"
CREATED = datetime(2026, 12, 6, 21, 30, 5, 123456, tzinfo=UTC)


def _mail(recipient: str, subject: str, body: str, mail_id: int = 7) -> OutgoingMail:
    return OutgoingMail(
        id=mail_id, recipient=recipient, subject=subject, body=body, created_at=CREATED
    )


def _read(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert not message.defects, message.defects
    return message


@pytest.mark.parametrize(
    ("subject", "body", "encoding"),
    [
        ("Your order is paid", "Hello,\n\nSee https://shop.example/orders/ab12\n", "7bit"),
        ("Reçu de commande — payé", "Merci ! 49,00 € payés.\nÀ bientôt.", "quoted-printable"),
        ("Long", "x" * (MAX_LINE + 1) + "\nshort line\n", "quoted-printable"),
        ("Ends", "no final newline and trailing spaces   ", "7bit"),
        ("CRLF", "line one\r\nline two\r\n= sign and a tab\t\n", "7bit"),
    ],
)
def test_a_letter_reads_back_as_the_queued_mail(subject: str, body: str, encoding: str) -> None:
    letter = compose(_mail("ana@example.com", subject, body), SENDER)
    assert isinstance(letter.content, bytes)
    message = _read(letter.content)
    assert message["From"] == SENDER
    assert message["To"] == "ana@example.com"
    assert message["Subject"] == subject
    assert message["Date"].datetime == CREATED.replace(microsecond=0)
    assert message["Message-ID"] == "<outgoing-7.20261206213005123456@ethos.local>"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message["Content-Transfer-Encoding"] == encoding
    assert message.get_content() == "\n".join(body.splitlines()) + "\n"
    assert letter.sender == "no-reply@ethos.local" and letter.recipient == "ana@example.com"
    assert letter.text == body
    # 7-bit clean on the wire, every line within the limit.
    assert letter.content.isascii()
    assert max(len(line) for line in letter.content.split(b"\n")) <= MAX_LINE


def test_a_sender_and_subject_shared_by_many_letters_keep_each_its_own_headers() -> None:
    sender = "Éthos Store <shop@example.com>"
    first = _mail("ana@example.com", "Reçu de commande", "é", mail_id=1)
    second = _mail("bo@example.com", "Reçu de commande", "b", mail_id=2)
    for mail in (first, second, first):
        letter = compose(mail, sender)
        assert isinstance(letter.content, bytes)
        message = _read(letter.content)
        assert message["From"] == sender
        assert message["To"] == mail.recipient
        assert message["Subject"] == mail.subject
        assert message.get_content().strip() == mail.body
        assert f"<outgoing-{mail.id}." in message["Message-ID"]
        assert letter.sender == "shop@example.com"


def test_an_address_only_smtputf8_carries_keeps_the_standard_message() -> None:
    letter = compose(_mail("jörg@exämple.de", "Paid", "Danke.\n"), SENDER)
    assert isinstance(letter.content, EmailMessage)
    assert letter.recipient == "jörg@exämple.de"
    message = _read(bytes(letter.content))
    assert message["To"] == "jörg@exämple.de"
    assert message.get_content() == "Danke.\n"


def test_a_recipient_carrying_a_header_is_refused() -> None:
    with pytest.raises(ValueError, match="linefeed"):
        compose(_mail("ana@example.com\nBcc: eve@example.com", "Paid", "x"), SENDER)
