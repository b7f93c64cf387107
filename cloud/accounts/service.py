"""Account operations: sign-up, confirmation and sign-in (passwords: `passwords`, browser
sessions: `sessions`).

Every operation takes an open `AsyncSession` and leaves committing to the caller's
transaction, so a user row, its token and the mail announcing it commit together or not
at all. Answers never reveal whether an email is registered.

An address belongs to whoever proves it: each sign-up keeps its own password hash with
its confirmation link, and confirming asks for that password again. Only then does the
hash become the account's, every other link for the address dies and guest orders
bought with the address join the account. Someone who signed up first with another
person's address therefore never learns the password that ends up counting.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.accounts import mails, strength, throttle
from cloud.accounts.hooks import AccountHooks
from cloud.accounts.models import EmailToken, User
from cloud.db import affected_rows, utcnow
from cloud.domain import InputErrors, Refusal
from cloud.mail.outbox import queue_mail
from cloud.security import hash_password, new_token, token_hash, verify_password

_LOGGER = logging.getLogger(__name__)

PURPOSE_CONFIRM = "confirm"
PURPOSE_RESET = "reset"
TOKEN_LIFETIME = timedelta(hours=mails.CONFIRM_HOURS)
EMAIL_MAX = 254  # RFC 5321's limit on a path
PASSWORD_MIN = 10
PASSWORD_MAX = 256

NOT_CONFIRMED = Refusal(
    "not_confirmed", "Please confirm your email address first: we can send the link again.", 403
)
BAD_CREDENTIALS = Refusal("bad_credentials", "Email or password is not right.", 401)
THROTTLED = Refusal("throttled", "Too many attempts. Please wait and try again.", 429)
NOT_THIS_SIGNUP = Refusal(
    "not_this_signup",
    "That is not the password chosen with this link. If you signed up more than once, "
    "each mail goes with the password chosen that time: try the link of your latest mail.",
    401,
)


def normalise_email(raw: str) -> str:
    """Trim, NFKC and lower-case an address; raise InputErrors if it is not an address."""
    candidate = unicodedata.normalize("NFKC", raw or "").strip()
    if not candidate:
        raise InputErrors({"email": "Enter your email address."})
    if len(candidate) > EMAIL_MAX:
        raise InputErrors({"email": "That email address is too long."})
    try:
        valid = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as err:
        raise InputErrors({"email": f"That is not a usable email address: {err}"}) from err
    return valid.normalized.lower()


async def check_new_password(password: str, email: str | None = None) -> None:
    """Raise InputErrors for a password too short, too long, common or guessable."""
    if len(password or "") < PASSWORD_MIN:
        raise InputErrors({"password": f"Use at least {PASSWORD_MIN} characters."})
    if len(password) > PASSWORD_MAX:
        raise InputErrors({"password": f"Use at most {PASSWORD_MAX} characters."})
    # The estimator takes tens of milliseconds on a long password: off the event loop.
    weakness = await asyncio.to_thread(
        strength.find_weakness, password, strength.personal_words(email)
    )
    if weakness is not None:
        raise InputErrors({"password": weakness.message})


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


async def issue_token(
    session: AsyncSession,
    user_id: int,
    purpose: str,
    password_hash: str | None = None,
    new_email: str | None = None,
) -> str:
    """A new single-use mail link; a sign-up's confirmation link carries its password hash,
    an email change's the address it moves to."""
    token = new_token()
    session.add(
        EmailToken(
            token_hash=token_hash(token),
            user_id=user_id,
            purpose=purpose,
            expires_at=utcnow() + TOKEN_LIFETIME,
            password_hash=password_hash,
            new_email=new_email,
        )
    )
    return token


async def end_email_links(session: AsyncSession, user_id: int) -> None:
    """Every link mailed for this account so far stops working (and forgets its hash)."""
    await session.execute(
        update(EmailToken)
        .where(col(EmailToken.user_id) == user_id, col(EmailToken.used_at).is_(None))
        .values(used_at=utcnow(), password_hash=None)
        .execution_options(synchronize_session=False)
    )


async def find_user(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(col(User.email) == email))


async def sign_up(session: AsyncSession, links: Links, email: str, password: str) -> None:
    """Create a partial (unconfirmed) account and queue its confirmation mail.

    A known address gets a mail saying so instead; the caller's answer is the same. A
    second sign-up for an address still waiting for confirmation gets its own link with
    its own password: which one counts is decided by whoever confirms from the mailbox.
    """
    email = normalise_email(email)
    await check_new_password(password, email)
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
        _LOGGER.info("account %s created, awaiting confirmation", user.id)
    elif existing.confirmed:
        queue_mail(
            session,
            email,
            *mails.already_registered(links.page("/account/login"), links.page("/account/reset")),
        )
        return
    else:
        user = existing
    assert user.id is not None
    token = await issue_token(session, user.id, PURPOSE_CONFIRM, password_hash)
    queue_mail(session, email, *mails.confirm_account(links.confirm(token)))


async def resend_confirmation(session: AsyncSession, links: Links, email: str) -> None:
    """Send a fresh link to an unconfirmed account; silently nothing otherwise.

    Who asks is unknown, so the link carries no password: whoever opens it from the
    mailbox chooses the account's password there (as a reset link would let them).
    """
    user = await find_user(session, normalise_email(email))
    if user is not None and not user.confirmed:
        assert user.id is not None
        token = await issue_token(session, user.id, PURPOSE_CONFIRM)
        queue_mail(session, user.email, *mails.confirm_resent(links.confirm(token)))


@dataclass(frozen=True)
class TokenProblem:
    """Why a link did not work, and for which address a new one could be sent."""

    reason: str  # "unknown", "expired", "used"
    email: str | None = None


@dataclass(frozen=True)
class UsableLink:
    row: EmailToken
    user: User


async def usable_link(
    session: AsyncSession, raw_token: str, purpose: str
) -> tuple[UsableLink | None, TokenProblem | None]:
    """The link's row and user if it can still be used, or why it cannot (nothing changes)."""
    row = await session.get(EmailToken, token_hash(raw_token or ""))
    if row is None or row.purpose != purpose:
        return None, TokenProblem("unknown")
    user = await session.get(User, row.user_id)
    if user is None:
        return None, TokenProblem("unknown")
    if row.used_at is not None or (purpose == PURPOSE_CONFIRM and user.confirmed):
        return None, TokenProblem("used", user.email)
    if row.expires_at <= utcnow():
        return None, TokenProblem("expired", user.email)
    return UsableLink(row, user), None


async def spend_link(session: AsyncSession, link: UsableLink) -> bool:
    """Mark a link used exactly once (one UPDATE guarded by `used_at IS NULL`); False
    when a concurrent request used it a moment ago."""
    result = await session.execute(
        update(EmailToken)
        .where(col(EmailToken.token_hash) == link.row.token_hash, col(EmailToken.used_at).is_(None))
        .values(used_at=utcnow(), password_hash=None)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result) == 1


@dataclass(frozen=True)
class PendingConfirmation:
    """What the confirmation page shows: the address, and which password it asks for."""

    email: str
    asks_signup_password: bool  # False: the person chooses the password here


async def check_confirmation(
    session: AsyncSession, raw_token: str
) -> tuple[PendingConfirmation | None, TokenProblem | None]:
    """What a confirmation link would confirm, without using the link up."""
    link, problem = await usable_link(session, raw_token, PURPOSE_CONFIRM)
    if link is None:
        return None, problem
    return PendingConfirmation(link.user.email, link.row.password_hash is not None), None


@dataclass(frozen=True)
class Confirmation:
    """The outcome of pressing "Confirm": the account, or why not (the link, or the password)."""

    user: User | None = None
    problem: TokenProblem | None = None
    refusal: Refusal | None = None
    retry_at: datetime | None = None


async def confirm(
    session: AsyncSession, raw_token: str, password: str, address: str, hooks: AccountHooks
) -> Confirmation:
    """Complete the partial account behind a confirmation link, given the sign-up's password
    (or, for a resent link, the password the person chooses now; InputErrors if unusable).

    Wrong passwords are throttled like sign-in attempts and leave the link usable."""
    link, problem = await usable_link(session, raw_token, PURPOSE_CONFIRM)
    if link is None:
        return Confirmation(problem=problem)
    user = link.user
    keys = throttle.password_keys(user.email, address)
    if (until := await throttle.blocked_until(session, keys)) is not None:
        return Confirmation(refusal=THROTTLED, retry_at=until)
    if link.row.password_hash is not None:
        if not await verify_password(link.row.password_hash, password or ""):
            await throttle.record_password_failure(session, keys)
            return Confirmation(refusal=NOT_THIS_SIGNUP)
        password_hash = link.row.password_hash
    else:
        await check_new_password(password, user.email)
        password_hash = await hash_password(password)
    if not await spend_link(session, link):
        return Confirmation(problem=TokenProblem("used", user.email))
    user.password_hash = password_hash
    await complete_account(session, user, hooks)
    await throttle.forget(session, keys[0])
    return Confirmation(user=user)


async def complete_account(session: AsyncSession, user: User, hooks: AccountHooks) -> None:
    """The mailbox was just proven by whoever set the password that now counts: the account
    is confirmed, every other link for it dies, and the other areas' confirmation hooks run
    (checkout's gives it the guest orders bought with the address)."""
    assert user.id is not None
    await end_email_links(session, user.id)
    if user.confirmed:
        return
    user.confirmed = True
    user.confirmed_at = utcnow()
    _LOGGER.info("account %s confirmed", user.id)
    await hooks.account_confirmed(session, user.id, user.email)


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
    keys = throttle.password_keys(email, address)
    until = await throttle.blocked_until(session, keys)
    if until is not None:
        return None, THROTTLED, until
    user = await find_user(session, email)
    if not await verify_password(user.password_hash if user else None, password or ""):
        await throttle.record_password_failure(session, keys)
        return None, BAD_CREDENTIALS, None
    assert user is not None
    await throttle.forget(session, keys[0])
    refusal = can_sign_in(user)
    if refusal is not None:
        return None, refusal, None
    return user, None, None


def can_sign_in(user: User) -> Refusal | None:
    return None if user.confirmed else NOT_CONFIRMED
