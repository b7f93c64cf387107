"""The OpenID Connect provider: the store's accounts sign people in to hubs and apps."""
