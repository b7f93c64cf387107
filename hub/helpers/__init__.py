"""Helpers shared by integrations and the core: pieces that are neither core nor one integration."""
