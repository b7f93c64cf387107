"""What other areas do when something happens to an account: hooks they register.

Accounts know no other area. Checkout, for one, registers a hook that gives a newly
confirmed account the guest orders bought with its address, the way it registers its
invoice listener with payments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

# (the caller's open transaction, the account's id, its address); runs inside that
# transaction, so what a hook writes commits with the confirmation or not at all.
AccountConfirmedHook = Callable[[AsyncSession, int, str], Awaitable[object]]
# (the open transaction, the account's id, its old address, its new one)
EmailChangedHook = Callable[[AsyncSession, int, str, str], Awaitable[object]]


@dataclass
class AccountHooks:
    confirmed: list[AccountConfirmedHook] = field(default_factory=list)
    email_changed: list[EmailChangedHook] = field(default_factory=list)

    def on_confirmed(self, hook: AccountConfirmedHook) -> None:
        self.confirmed.append(hook)

    def on_email_changed(self, hook: EmailChangedHook) -> None:
        self.email_changed.append(hook)

    async def account_email_changed(
        self, session: AsyncSession, user_id: int, old: str, new: str
    ) -> None:
        for hook in self.email_changed:
            await hook(session, user_id, old, new)

    async def account_confirmed(self, session: AsyncSession, user_id: int, email: str) -> None:
        for hook in self.confirmed:
            await hook(session, user_id, email)
