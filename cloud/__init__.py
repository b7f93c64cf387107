"""Ethos cloud: the store service."""

from __future__ import annotations
