"""Shipping: the buyer's address (sealed, erased after delivery) and packing, shipping with
tracking and delivery of paid orders by operators."""
