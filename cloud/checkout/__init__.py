"""Checkout: the cart, orders and their state machine, the reconciler and the store pages."""
