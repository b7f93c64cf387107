"""Ethos: the single `ethos` command that fronts the cloud store, the hub and the device tools."""

from __future__ import annotations

__version__ = "0.1.0"
