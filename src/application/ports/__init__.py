"""The ports the application needs from its adapters."""
