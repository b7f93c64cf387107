"""Account operations: sign-up, confirmation, sign-in, sessions, password reset.

Every operation takes an open `AsyncSession` and leaves committing to the caller's
transaction, so a user row, its token and the mail announcing it commit together or not
at all. Answers never reveal whether an email is registered.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.accounts import mails, throttle
from cloud.accounts.models import EmailToken, User, WebSession
from cloud.checkout.service import attach_guest_orders
from cloud.db import utcnow
from cloud.domain import InputErrors, Refusal
from cloud.mail.outbox import queue_mail
from cloud.security import hash_password, new_token, token_hash, verify_password

_LOGGER = logging.getLogger(__name__)

PURPOSE_CONFIRM = "confirm"
PURPOSE_RESET = "reset"
TOKEN_LIFETIME = timedelta(hours=mails.CONFIRM_HOURS)
PASSWORD_MIN = 10
PASSWORD_MAX = 256

NOT_CONFIRMED = Refusal(
    "not_confirmed", "Please confirm your email address first: we can send the link again.", 403
)
BAD_CREDENTIALS = Refusal("bad_credentials", "Email or password is not right.", 401)


def normalise_email(raw: str) -> str:
    """Trim, NFKC and lower-case an address; raise InputErrors if it is not an address."""
    candidate = unicodedata.normalize("NFKC", raw or "").strip()
    if not candidate:
        raise InputErrors({"email": "Enter your email address."})
    if len(candidate) > 254:
        raise InputErrors({"email": "That email address is too long."})
    try:
        valid = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as err:
        raise InputErrors({"email": f"That is not a usable email address: {err}"}) from err
    return valid.normalized.lower()


def check_new_password(password: str) -> None:
    if len(password or "") < PASSWORD_MIN:
        raise InputErrors({"password": f"Use at least {PASSWORD_MIN} characters."})
    if len(password) > PASSWORD_MAX:
        raise InputErrors({"password": f"Use at most {PASSWORD_MAX} characters."})


@dataclass(frozen=True)
class Links:
    """Builds absolute links for mails from the public base URL."""

    base_url: str

    def confirm(self, token: str) -> str:
        return f"{self.base_url}/account/confirm?token={token}"

    def reset(self, token: str) -> str:
        return f"{self.base_url}/account/reset?token={token}"

    def page(self, path: str) -> str:
        return f"{self.base_url}{path}"


async def _issue_token(session: AsyncSession, user_id: int, purpose: str) -> str:
    token = new_token()
    session.add(
        EmailToken(
            token_hash=token_hash(token),
            user_id=user_id,
            purpose=purpose,
            expires_at=utcnow() + TOKEN_LIFETIME,
        )
    )
    return token


async def find_user(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email))


async def sign_up(session: AsyncSession, links: Links, email: str, password: str) -> None:
    """Create a partial (unconfirmed) account and queue its confirmation mail.

    A known address gets a mail saying so instead; the caller's answer is the same.
    """
    email = normalise_email(email)
    check_new_password(password)
    password_hash = await hash_password(password)
    existing = await find_user(session, email)
    if existing is None:
        user = User(email=email, password_hash=password_hash)
        try:
            async with session.begin_nested():
                session.add(user)
        except IntegrityError:  # a concurrent sign-up won the race for this address
            existing = await find_user(session, email)
    if existing is None:
        token = await _issue_token(session, user.id, PURPOSE_CONFIRM)
        queue_mail(session, email, *mails.confirm_account(links.confirm(token)))
        _LOGGER.info("account %s created, awaiting confirmation", user.id)
        return
    if existing.confirmed:
        queue_mail(
            session,
            email,
            *mails.already_registered(links.page("/account/login"), links.page("/account/reset")),
        )
    else:
        await _queue_confirmation(session, links, existing)


async def _queue_confirmation(session: AsyncSession, links: Links, user: User) -> None:
    assert user.id is not None
    token = await _issue_token(session, user.id, PURPOSE_CONFIRM)
    queue_mail(session, user.email, *mails.confirm_account(links.confirm(token)))


async def resend_confirmation(session: AsyncSession, links: Links, email: str) -> None:
    """Send a fresh link to an unconfirmed account; silently nothing otherwise."""
    user = await find_user(session, normalise_email(email))
    if user is not None and not user.confirmed:
        await _queue_confirmation(session, links, user)


@dataclass(frozen=True)
class TokenProblem:
    """Why a link did not work, and for which address a new one could be sent."""

    reason: str  # "unknown", "expired", "used"
    email: str | None = None


async def _usable_token(
    session: AsyncSession, raw_token: str, purpose: str
) -> tuple[User | None, TokenProblem | None]:
    """The user behind a link that can still be used, or why it cannot (nothing changes)."""
    row = await session.get(EmailToken, token_hash(raw_token or ""))
    if row is None or row.purpose != purpose:
        return None, TokenProblem("unknown")
    user = await session.get(User, row.user_id)
    email = user.email if user else None
    if row.used_at is not None:
        return None, TokenProblem("used", email)
    if row.expires_at <= utcnow():
        return None, TokenProblem("expired", email)
    return user, None


async def _consume_token(
    session: AsyncSession, raw_token: str, purpose: str
) -> tuple[User | None, TokenProblem | None]:
    """Mark a token used exactly once (one UPDATE guarded by `used_at IS NULL`)."""
    user, problem = await _usable_token(session, raw_token, purpose)
    if user is None:
        return None, problem
    digest = token_hash(raw_token)
    result = await session.execute(
        update(EmailToken)
        .where(EmailToken.token_hash == digest, EmailToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # a concurrent request used it a moment ago
        return None, TokenProblem("used", user.email)
    return user, None


async def check_confirmation(
    session: AsyncSession, raw_token: str
) -> tuple[str | None, TokenProblem | None]:
    """The address a confirmation link would confirm, without using the link up."""
    user, problem = await _usable_token(session, raw_token, PURPOSE_CONFIRM)
    return (user.email, None) if user is not None else (None, problem)


async def confirm(session: AsyncSession, raw_token: str) -> tuple[User | None, TokenProblem | None]:
    """Complete the partial account behind a confirmation link."""
    user, problem = await _consume_token(session, raw_token, PURPOSE_CONFIRM)
    if user is None:
        return None, problem
    if not user.confirmed:
        user.confirmed = True
        user.confirmed_at = utcnow()
        _LOGGER.info("account %s confirmed", user.id)
        # The mailbox is proven now: guest orders placed with it become this account's.
        await attach_guest_orders(session, user.id, user.email)
    return user, None


async def authenticate(
    session: AsyncSession, email: str, password: str, address: str
) -> tuple[User | None, Refusal | None, datetime | None]:
    """Check credentials under brute-force protection.

    Returns (user, None, None) on success, or (None, refusal, retry_at) where retry_at is
    set while the account or address is blocked.
    """
    try:
        email = normalise_email(email)
    except InputErrors:
        return None, BAD_CREDENTIALS, None
    keys = [throttle.account_key(email), throttle.address_key(address)]
    until = await throttle.blocked_until(session, keys)
    if until is not None:
        return (
            None,
            Refusal("throttled", "Too many attempts. Please wait and try again.", 429),
            until,
        )
    user = await find_user(session, email)
    if not await verify_password(user.password_hash if user else None, password or ""):
        await throttle.record_failure(session, keys[0], throttle.ACCOUNT_POLICY)
        await throttle.record_failure(session, keys[1], throttle.ADDRESS_POLICY)
        return None, BAD_CREDENTIALS, None
    assert user is not None
    await throttle.forget(session, keys[0])
    refusal = can_sign_in(user)
    if refusal is not None:
        return None, refusal, None
    return user, None, None


def can_sign_in(user: User) -> Refusal | None:
    return None if user.confirmed else NOT_CONFIRMED


async def create_session(session: AsyncSession, user_id: int, lifetime: timedelta) -> str:
    """Start a new browser session (a new id at every sign-in); return the cookie token."""
    raw = new_token()
    session.add(
        WebSession(id_hash=token_hash(raw), user_id=user_id, expires_at=utcnow() + lifetime)
    )
    return raw


async def session_user(session: AsyncSession, raw: str | None) -> User | None:
    if not raw:
        return None
    row = await session.get(WebSession, token_hash(raw))
    if row is None or row.expires_at <= utcnow():
        return None
    return await session.get(User, row.user_id)


async def end_session(session: AsyncSession, raw: str | None) -> None:
    if raw:
        await session.execute(delete(WebSession).where(WebSession.id_hash == token_hash(raw)))


async def request_password_reset(session: AsyncSession, links: Links, email: str) -> None:
    email = normalise_email(email)
    user = await find_user(session, email)
    if user is None:
        queue_mail(session, email, *mails.reset_unknown_address(links.page("/account/signup")))
        return
    assert user.id is not None
    token = await _issue_token(session, user.id, PURPOSE_RESET)
    queue_mail(session, email, *mails.reset_password(links.reset(token)))


async def reset_password(
    session: AsyncSession, raw_token: str, new_password: str
) -> tuple[User | None, TokenProblem | None]:
    """Set a new password from a reset link; ends every session of the account."""
    check_new_password(new_password)
    user, problem = await _consume_token(session, raw_token, PURPOSE_RESET)
    if user is None:
        return None, problem
    user.password_hash = await hash_password(new_password)
    user.password_changed_at = utcnow()
    # Receiving the link proves control of the mailbox, which is what confirmation proves.
    if not user.confirmed:
        user.confirmed, user.confirmed_at = True, utcnow()
    await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    await throttle.forget(session, throttle.account_key(user.email))
    queue_mail(session, user.email, *mails.password_changed())
    return user, None
