"""What following an invoice did to its order: a typed outcome, not a sentence to parse.

The checkout area computes it (see `cloud.checkout.flow.sync_order_with_invoice`); the
webhook turns it into BTCPay's answer and the reconciler into its schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutcomeKind(StrEnum):
    MOVED = "moved"  # the order entered `status`
    UNCHANGED = "unchanged"  # the order stays in `status`: the invoice says nothing new
    IGNORED = "ignored"  # the invoice is not one of ours to apply (see `reason`)
    RETRY = "retry"  # the order was busy every time we tried: ask again later


@dataclass(frozen=True, slots=True)
class InvoiceOutcome:
    kind: OutcomeKind
    status: str | None = None  # the order's status after the sync, when known
    reason: str = ""

    @classmethod
    def moved(cls, status: str) -> InvoiceOutcome:
        return cls(OutcomeKind.MOVED, status)

    @classmethod
    def unchanged(cls, status: str) -> InvoiceOutcome:
        return cls(OutcomeKind.UNCHANGED, status)

    @classmethod
    def ignored(cls, reason: str) -> InvoiceOutcome:
        return cls(OutcomeKind.IGNORED, reason=reason)

    @classmethod
    def retry(cls, reason: str) -> InvoiceOutcome:
        return cls(OutcomeKind.RETRY, reason=reason)

    @property
    def moved_order(self) -> bool:
        return self.kind is OutcomeKind.MOVED

    def __str__(self) -> str:
        """The words the webhook answers with (and logs): "paid", "unchanged: paid", …"""
        if self.kind is OutcomeKind.MOVED:
            return str(self.status)
        if self.kind is OutcomeKind.UNCHANGED:
            return f"unchanged: {self.status}"
        return f"{self.kind}: {self.reason}"
