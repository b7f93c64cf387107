"""Exceptions the core and integrations raise to say what went wrong, in words for a user."""

from __future__ import annotations


class HubError(Exception):
    """Base class for errors the hub reports instead of crashing."""


class ConfigEntryNotReady(HubError):
    """Raised by an integration's setup when it should be retried later (e.g. broker down)."""


class ServiceNotFound(HubError):
    """No handler is registered for the domain/service pair."""

    def __init__(self, domain: str, service: str) -> None:
        super().__init__(f"unknown service {domain}.{service}")
        self.domain = domain
        self.service = service


class ServiceValidationError(HubError):
    """A service was called with data it cannot use (a user mistake, not a bug)."""


class IntegrationNotFound(HubError):
    """No integration folder with that domain."""


class InvalidManifest(HubError):
    """An integration's manifest.json is missing or malformed."""
