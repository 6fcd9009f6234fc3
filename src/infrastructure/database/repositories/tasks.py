from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import selectinload

from application.ports.repositories import TaskRepository
from application.ports.task_queries import TaskDetails, TaskPage, TaskQuery, TaskSort
from domain.credits import Credits
from domain.errors import NotFound
from domain.tasks import Task, TaskStatus
from infrastructure.database.records import TaskDependencyRecord, TaskRecord
from infrastructure.database.repositories.records import SqlRepository

EXPORT_CHUNK_SIZE = 1000
DEPENDENCY_GRAPH_LOCK = 0x6B65656C  # an arbitrary advisory lock key, "keel" in ASCII
_SORT_COLUMNS: dict[TaskSort, Any] = {
    TaskSort.CREATED_AT: TaskRecord.created_at,
    TaskSort.UPDATED_AT: TaskRecord.updated_at,
    TaskSort.TITLE: TaskRecord.title,
    TaskSort.STATUS: TaskRecord.status,
    TaskSort.BOUNTY: TaskRecord.bounty,
}


class SqlTaskRepository(SqlRepository[Task, TaskRecord], TaskRepository):
    record_type = TaskRecord
    loaded_relationships = ("dependency_links",)

    async def reachable_dependencies(self, task_id: UUID) -> set[UUID]:
        await self._flush()
        if not self._read_only and self._session.get_bind().dialect.name == "postgresql":
            # Two units could each add half of a cycle, each checking a graph without the
            # other's half: writers that read the graph to change it take turns. (SQLite's
            # BEGIN IMMEDIATE already lets one writer in at a time.)
            await self._session.execute(select(func.pg_advisory_xact_lock(DEPENDENCY_GRAPH_LOCK)))
        links = TaskDependencyRecord
        reachable = (
            select(links.depends_on_id.label("id"))
            .where(links.task_id == task_id)
            .cte("reachable", recursive=True)
        )
        reachable = reachable.union(
            select(links.depends_on_id).join(reachable, links.task_id == reachable.c.id)
        )
        return set((await self._session.scalars(select(reachable.c.id))).all())

    async def details(self, task_id: UUID) -> TaskDetails:
        await self._flush()
        family = await self._session.scalars(
            self._select()
            .where(
                or_(
                    TaskRecord.id == task_id,
                    and_(TaskRecord.parent_id == task_id, TaskRecord.deleted_at.is_(None)),
                )
            )
            .order_by(TaskRecord.created_at, TaskRecord.id)
        )
        tasks = [self._to_domain(record) for record in family]
        found = [task for task in tasks if task.id == task_id]
        if not found:
            raise NotFound(self.kind, task_id)
        dependencies = await self._session.scalars(
            self._select()
            .where(TaskRecord.id.in_(found[0].dependency_ids))
            .order_by(TaskRecord.created_at, TaskRecord.id)
        )
        return TaskDetails(
            task=found[0],
            subtasks=[task for task in tasks if task.id != task_id],
            dependencies=[self._to_domain(record) for record in dependencies],
        )

    async def find(self, query: TaskQuery) -> TaskPage:
        await self._flush()
        conditions = _conditions(query)
        total = await self._session.scalar(
            select(func.count()).select_from(TaskRecord).where(*conditions)
        )
        column = _SORT_COLUMNS[query.sort]
        order = (
            (column.desc(), TaskRecord.id.desc()) if query.descending else (column, TaskRecord.id)
        )
        records = await self._session.scalars(
            self._select()
            .where(*conditions)
            .order_by(*order)
            .limit(query.limit)
            .offset(query.offset)
        )
        return TaskPage(tasks=[self._to_domain(record) for record in records], total=total or 0)

    async def export(self) -> AsyncIterator[Task]:
        await self._flush()
        # Plain rows, not records: nothing of a chunk stays referenced once it is handed out.
        rows = await self._session.stream(
            select(*TaskRecord.__table__.columns)
            .order_by(TaskRecord.created_at, TaskRecord.id)
            .execution_options(yield_per=EXPORT_CHUNK_SIZE)
        )
        async for chunk in rows.partitions():
            ids = [row.id for row in chunk]
            links = await self._session.execute(
                select(TaskDependencyRecord.task_id, TaskDependencyRecord.depends_on_id).where(
                    TaskDependencyRecord.task_id.in_(ids)
                )
            )
            dependencies: dict[UUID, set[UUID]] = {}
            for task_id, depends_on_id in links:
                dependencies.setdefault(task_id, set()).add(depends_on_id)
            for row in chunk:
                yield _task(row, frozenset(dependencies.get(row.id, ())))

    async def _flush(self) -> None:
        """Queries read the database, so the unit's own changes go there first."""
        self.write_back()
        await self._session.flush()

    def _select(self) -> Select[TaskRecord]:
        return select(TaskRecord).options(selectinload(TaskRecord.dependency_links))

    def _new_record(self, aggregate: Task) -> TaskRecord:
        return TaskRecord(id=aggregate.id, version=aggregate.version, dependency_links=[])

    def _to_domain(self, record: TaskRecord) -> Task:
        return _task(record, frozenset(link.depends_on_id for link in record.dependency_links))

    def _write(self, aggregate: Task, record: TaskRecord) -> None:
        record.title = aggregate.title
        record.description = aggregate.description
        record.status = aggregate.status.value
        record.creator_id = aggregate.creator_id
        record.assignee_id = aggregate.assignee_id
        record.parent_id = aggregate.parent_id
        record.bounty = aggregate.bounty.value
        record.deleted_at = aggregate.deleted_at
        record.created_at = aggregate.created_at
        record.updated_at = aggregate.updated_at
        linked = {link.depends_on_id for link in record.dependency_links}
        if linked != aggregate.dependency_ids:
            record.dependency_links = [
                link
                for link in record.dependency_links
                if link.depends_on_id in aggregate.dependency_ids
            ] + [
                TaskDependencyRecord(task_id=aggregate.id, depends_on_id=dependency_id)
                for dependency_id in sorted(aggregate.dependency_ids - linked)
            ]

    def _read_version(self, aggregate: Task, record: TaskRecord) -> None:
        aggregate.version = record.version


def _task(row: Any, dependency_ids: frozenset[UUID]) -> Task:
    """A task from a record or a row: both name their values as the table's columns."""
    return Task(
        id=row.id,
        title=row.title,
        description=row.description,
        status=TaskStatus(row.status),
        creator_id=row.creator_id,
        assignee_id=row.assignee_id,
        parent_id=row.parent_id,
        dependency_ids=dependency_ids,
        bounty=Credits(row.bounty),
        deleted_at=row.deleted_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _conditions(query: TaskQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if not query.include_deleted:
        conditions.append(TaskRecord.deleted_at.is_(None))
    if query.status is not None:
        conditions.append(TaskRecord.status == query.status.value)
    if query.assignee_id is not None:
        conditions.append(TaskRecord.assignee_id == query.assignee_id)
    if query.creator_id is not None:
        conditions.append(TaskRecord.creator_id == query.creator_id)
    if query.parent_id is not None:
        conditions.append(TaskRecord.parent_id == query.parent_id)
    if query.top_level_only:
        conditions.append(TaskRecord.parent_id.is_(None))
    if query.created_after is not None:
        conditions.append(TaskRecord.created_at > query.created_after)
    if query.created_before is not None:
        conditions.append(TaskRecord.created_at < query.created_before)
    if query.title_contains is not None:
        # Bound as a parameter with % and _ escaped: the text is data, never SQL.
        conditions.append(TaskRecord.title.icontains(query.title_contains, autoescape=True))
    return conditions
