"""Refuse passwords that would be guessed: common ones and those an estimator finds weak.

Two checks, each for what the other misses:
- a bundled list of the most common passwords (`data/common-passwords.txt`: Openwall's
  `password.lst`, compiled by Solar Designer from passwords seen most often on Unix systems
  and in website breaches, 1996-2011, placed in the public domain; as shipped in Debian's
  `john-data`). A password is refused when it is on the list, or is a listed one dressed
  up the usual ways: capitals, digits or symbols around it, letters swapped for look-alike
  digits ("password1234", "P@ssw0rd!!", "2024dragon").
- zxcvbn's estimate (Dropbox's estimator: dictionaries, keyboard walks, dates, repeats,
  sequences and the person's own address), which must reach `MIN_SCORE`.

A better list: a recent frequency list of breached passwords whose licence allows shipping
it, kept to the entries at least `PASSWORD_MIN` long after the normalisation below (shorter
ones are refused anyway). Replace the file; the first lines starting with `#!comment:` say
where it came from.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from zxcvbn import zxcvbn

_LOGGER = logging.getLogger(__name__)

COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"
MIN_SCORE = 3  # zxcvbn: "safely unguessable", some protection against an offline attack
ESTIMATOR_MAX_CHARS = 72  # zxcvbn refuses longer input; the rest only adds strength
ADVICE = (
    "Pick a better one: four or five unrelated words, or a long random password from a "
    "password manager. Avoid names, dates, keyboard rows and your email address."
)

_LOOK_ALIKES = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                              "@": "a", "$": "s", "!": "i", "+": "t"})  # fmt: skip
_DRESSING = re.compile(r"^[\W\d_]*(.*?)[\W\d_]*$")


@dataclass(frozen=True)
class Weakness:
    """Why a password would be guessed; `message` says it and how to pick a better one."""

    reason: str
    message: str


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list, lower-cased, without its comment lines."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#!")
    )


def _cores(password: str) -> set[str]:
    """The password and what is left once the usual dressing-up is taken off."""
    lowered = password.lower().strip()
    undressed = _DRESSING.sub(r"\1", lowered)
    return {lowered, undressed, lowered.translate(_LOOK_ALIKES), undressed.translate(_LOOK_ALIKES)}


def find_weakness(password: str, personal: list[str]) -> Weakness | None:
    """None for a password hard to guess, else the reason (CPU-bound: tens of ms)."""
    listed = common_passwords()
    if any(core in listed for core in _cores(password) if core):
        return Weakness(
            "common",
            "That is one of the most common passwords (or one with a few characters "
            "added): such lists are the first thing tried against a stolen password. " + ADVICE,
        )
    estimate = zxcvbn(password[:ESTIMATOR_MAX_CHARS], user_inputs=personal)
    if estimate["score"] >= MIN_SCORE:
        return None
    feedback = estimate["feedback"]
    warning = str(feedback.get("warning") or "").strip()
    time_to_guess = estimate["crack_times_display"]["offline_slow_hashing_1e4_per_second"]
    detail = f" {warning}" if warning else ""
    return Weakness(
        "guessable",
        f"That password is too easy to guess: someone holding a stolen copy of our "
        f"password file could find it in {time_to_guess}.{detail} {ADVICE}",
    )


def personal_words(email: str | None) -> list[str]:
    """Words of the person's own that an attacker would try first: their address's parts."""
    if not email:
        return ["ethos"]
    local, _, domain = email.partition("@")
    return ["ethos", email, local, *re.split(r"[.\-_+]", local), *domain.split(".")]
