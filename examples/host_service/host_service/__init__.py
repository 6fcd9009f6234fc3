"""A service that embeds Keel: Keel's container inside its own, and one of Keel's use cases
behind one of its routes."""
