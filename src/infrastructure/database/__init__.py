"""Persistence through SQLAlchemy: SQLite (aiosqlite) and PostgreSQL (asyncpg)."""
