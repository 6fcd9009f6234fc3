"""Domain events after commit: the outbox, the handlers, and the relay that delivers them."""
