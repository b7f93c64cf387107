"""The hub's core: event bus, state machine, services, registries, storage and loader."""
