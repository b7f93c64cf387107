"""Inventory: physical stock units, their claim secrets, and who owns which unit."""
