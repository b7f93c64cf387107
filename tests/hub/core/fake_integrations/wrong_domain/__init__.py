"""A test integration whose manifest names another domain."""
