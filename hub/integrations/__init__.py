"""Integrations: one folder per domain, each with a manifest.json."""
