"""Keel's adapters: SQLAlchemy persistence, in-memory fakes and settings."""
