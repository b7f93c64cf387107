"""`ethos cloud admin grant|revoke EMAIL`: the operator role, from the command line."""

from __future__ import annotations

import logging
import sys

from cloud import db
from cloud.admin import operators
from cloud.config import CloudSettings

_LOGGER = logging.getLogger(__name__)


async def run_role_change(settings: CloudSettings, email: str, *, grant: bool) -> int:
    """Grant or revoke the role (audited); 0 on success, 1 when no account has that email."""
    engine = db.create_engine(settings.database_url, settings.database_schema)
    try:
        await db.async_upgrade_to_head(engine) if not settings.production else None
        async with db.session_factory(engine)() as session, session.begin():
            change = operators.grant if grant else operators.revoke
            changed = await change(session, email)
    except operators.NoSuchAccount:
        print(f"no account has the email {email}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    role = "an operator" if grant else "not an operator"
    print(f"{email.strip().lower()} is {role}{'' if changed else ' (unchanged)'}")
    return 0
