"""Create tasks, with subtasks, dependencies and bounties.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Amounts are integer hundredths of a credit (exact on SQLite too); timestamps are UTC.
MINOR_UNITS = sa.BigInteger()
TIMESTAMP = sa.DateTime(timezone=True)
# Each filter and sort has an index ending in the id, the tie-breaker of every task order.
TASK_INDEXES = {
    "ix_tasks_created_at_id": ["created_at", "id"],
    "ix_tasks_updated_at_id": ["updated_at", "id"],
    "ix_tasks_title_id": ["title", "id"],
    "ix_tasks_status_created_at_id": ["status", "created_at", "id"],
    "ix_tasks_bounty_id": ["bounty", "id"],
    "ix_tasks_assignee_id_created_at": ["assignee_id", "created_at"],
    "ix_tasks_creator_id_created_at": ["creator_id", "created_at"],
    "ix_tasks_parent_id_created_at": ["parent_id", "created_at"],
}


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("bounty", MINOR_UNITS, nullable=False),
        sa.Column("deleted_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("bounty >= 0", name=op.f("ck_tasks_bounty_not_negative")),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_tasks_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["users.id"], name=op.f("fk_tasks_creator_id_users")
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["tasks.id"], name=op.f("fk_tasks_parent_id_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    for name, columns in TASK_INDEXES.items():
        op.create_index(op.f(name), "tasks", columns)
    op.create_table(
        "task_dependencies",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("depends_on_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["depends_on_id"], ["tasks.id"], name=op.f("fk_task_dependencies_depends_on_id_tasks")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_dependencies_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("task_id", "depends_on_id", name=op.f("pk_task_dependencies")),
    )
    op.create_index(
        op.f("ix_task_dependencies_depends_on_id"), "task_dependencies", ["depends_on_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_task_dependencies_depends_on_id"), table_name="task_dependencies")
    op.drop_table("task_dependencies")
    for name in TASK_INDEXES:
        op.drop_index(op.f(name), table_name="tasks")
    op.drop_table("tasks")
