"""Integrations that exist only for the core's tests."""
