"""A test integration whose requirement is not installed."""
