"""Outgoing mail: a transactional outbox table and a dispatcher that delivers it."""

from __future__ import annotations
