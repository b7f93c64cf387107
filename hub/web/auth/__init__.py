"""Sign-in: OpenID Connect relying party against the Ethos store, local sessions, roles."""
