"""smo-bridge core: configuration, domain model, state store, engine."""

__version__ = "0.1.0"
