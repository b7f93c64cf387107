"""The text of account mails. Plain text: readable everywhere, nothing loaded from elsewhere."""

from __future__ import annotations

CONFIRM_HOURS = 24


def confirm_account(link: str) -> tuple[str, str]:
    return (
        "Confirm your Ethos account",
        "Welcome to Ethos.\n\n"
        f"Open this link within {CONFIRM_HOURS} hours to confirm your email address and "
        f"finish creating your account:\n\n{link}\n\n"
        "You will be asked for the password you chose when you signed up.\n\n"
        "If you did not sign up, ignore this mail: the account stays unconfirmed and unusable.\n",
    )


def confirm_resent(link: str) -> tuple[str, str]:
    return (
        "Confirm your Ethos account",
        f"Open this link within {CONFIRM_HOURS} hours to confirm your email address and "
        f"choose the password of your account:\n\n{link}\n\n"
        "If you did not ask for it, ignore this mail: the account stays unconfirmed and "
        "unusable.\n",
    )


def already_registered(login_link: str, reset_link: str) -> tuple[str, str]:
    return (
        "Someone tried to sign up with your address",
        "Someone (probably you) tried to create an Ethos account with this address, "
        "but an account already exists for it.\n\n"
        f"Sign in: {login_link}\n"
        f"Forgot your password? Reset it: {reset_link}\n\n"
        "If this was not you, nothing has changed and you can ignore this mail.\n",
    )


def reset_password(link: str) -> tuple[str, str]:
    return (
        "Reset your Ethos password",
        f"Open this link within {CONFIRM_HOURS} hours to choose a new password:\n\n{link}\n\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.\n",
    )


def reset_unknown_address(signup_link: str) -> tuple[str, str]:
    return (
        "Ethos password reset",
        "Someone asked to reset the password of an Ethos account with this address, "
        "but there is no such account.\n\n"
        f"Create one: {signup_link}\n\n"
        "If this was not you, ignore this mail.\n",
    )


def password_changed() -> tuple[str, str]:
    return (
        "Your Ethos password was changed",
        "The password of your Ethos account was just changed: every session was signed "
        "out, every hub and app has to sign in again and links mailed before no longer "
        "work. If this was not you, reset your password at once.\n",
    )


def confirm_new_address(link: str, old: str) -> tuple[str, str]:
    return (
        "Confirm the new address of your Ethos account",
        f"The Ethos account {old} asked to use this address from now on.\n\n"
        f"Open this link within {CONFIRM_HOURS} hours to confirm it:\n\n{link}\n\n"
        "Until it is confirmed, the account keeps its old address. If you did not ask for "
        "this, ignore this mail.\n",
    )


def new_address_taken(login_link: str) -> tuple[str, str]:
    return (
        "Someone tried to move an Ethos account to your address",
        "Someone (probably you) asked to move another Ethos account to this address, but "
        "this address already has an account of its own, so nothing changed.\n\n"
        f"Sign in to it: {login_link}\n",
    )


def address_change_requested(new: str) -> tuple[str, str]:
    return (
        "A new address was asked for your Ethos account",
        f"Your Ethos account asked to move to the address {new}. Nothing changes until the "
        "link we sent there is opened; until then your account keeps this address.\n\n"
        "If this was not you, change your password at once: whoever asked knew it.\n",
    )


def address_changed(new: str) -> tuple[str, str]:
    return (
        "The address of your Ethos account was changed",
        f"Your Ethos account now uses the address {new}; mail about it and your orders goes "
        "there, and you sign in with it. If this was not you, reset your password from the "
        "new address, or contact us.\n",
    )
