"""The demo prints each mail the store writes to its outbox, with its links."""

from __future__ import annotations

from itertools import count

from cloud.mail.dispatcher import OutboxTransport
from cloud.mail.letters import Letter, compose
from cloud.mail.models import OutgoingMail
from ethos.demo_mail import OutboxWatcher

_ids = count(1)


def _mail(to: str, subject: str, body: str) -> Letter:
    mail = OutgoingMail(id=next(_ids), recipient=to, subject=subject, body=body)
    return compose(mail, "Ethos <no-reply@ethos.local>")


async def test_new_mails_are_told_once_with_their_links(tmp_path):
    outbox = tmp_path / "outbox"
    watcher = OutboxWatcher(outbox)
    assert watcher.new_mail_lines() == []  # no folder yet: nothing, no error
    transport = OutboxTransport(outbox)
    link = "http://127.0.0.1:8080/account/confirm/abc123"
    await transport.async_send(
        _mail("ada@example.org", "Confirm your address", f"Open this link:\n{link}\n")
    )

    lines = watcher.new_mail_lines()

    assert lines == ["Mail to ada@example.org: Confirm your address", f"  open {link}"]
    assert watcher.new_mail_lines() == []
    await transport.async_send(_mail("bob@example.org", "Order paid", "No links here.\n"))
    assert watcher.new_mail_lines() == ["Mail to bob@example.org: Order paid"]
