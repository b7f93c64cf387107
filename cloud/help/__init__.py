"""Help and legal pages: how ownership and claim secrets work, privacy, terms."""
