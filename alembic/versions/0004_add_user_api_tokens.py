"""Give users an API token, stored only as its SHA-256 hash.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE rather than a batch: SQLite (3.35+) adds and drops an unconstrained column
# in place, while a batch would copy `users` and trip the foreign keys that point at it.


def upgrade() -> None:
    # Nullable: users registered before this revision have no token until one is issued.
    op.add_column("users", sa.Column("api_token_hash", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_users_api_token_hash"), "users", ["api_token_hash"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_users_api_token_hash"), table_name="users")
    op.drop_column("users", "api_token_hash")
