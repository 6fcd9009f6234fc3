"""Keel's application layer: use cases, their command and result models, and the ports they need."""
