"""Operator actions on an order, one at a time: the order's `version` is the token.

A console page shows an order at some version and its forms send that version back. The
action claims the order with a conditional UPDATE (version = what the page showed), which
also bumps it; a second operator who acted on the same page is refused with a clear 409
and their whole transaction (action and audit entry) rolls back.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.checkout.models import Order
from cloud.db import affected_rows, utcnow
from cloud.domain import InputErrors, Refusal, RefusedError

ORDER_CHANGED = Refusal(
    "order_changed",
    "Another operator changed this order since you opened it. Nothing was done: "
    "reload the order, check what changed, and try again.",
    409,
)
NO_SUCH_ORDER = Refusal("no_such_order", "There is no such order.", 404)
VERSION_FIELD = "version"


def version_from_form(value: object) -> int:
    """The order version a console form sent back (InputErrors when missing or malformed)."""
    text = str(value or "").strip()
    if not text.isdigit() or len(text) > 9:
        raise InputErrors(
            {VERSION_FIELD: "The page did not say which version of the order it showed."}
        )
    return int(text)


async def claim_order(session: AsyncSession, order_id: str, expected_version: int) -> Order:
    """Bump the order's version if it is still `expected_version`, and return the order.

    Call inside the action's transaction, before changing anything. Raises RefusedError
    (409 ORDER_CHANGED, or 404 NO_SUCH_ORDER).
    """
    result = await session.execute(
        update(Order)
        .where(col(Order.id) == order_id, col(Order.version) == expected_version)
        .values(version=expected_version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if affected_rows(result) != 1:
        exists = await session.get(Order, order_id)
        raise RefusedError(ORDER_CHANGED if exists is not None else NO_SUCH_ORDER)
    order = await session.get(Order, order_id, populate_existing=True)
    assert order is not None
    return order
