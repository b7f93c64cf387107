"""Accounts: sign-up with email confirmation, sign-in, sessions, password reset."""

from __future__ import annotations
