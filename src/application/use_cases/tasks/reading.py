"""Reading tasks: one with its relations, a filtered page, or all of them as a stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from uuid import UUID

from pydantic import Field

from application.models import Command, Offset, Result, UtcMoment
from application.ports.task_queries import TaskQuery, TaskSort
from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases.get_wallet_statement import MAX_PAGE_SIZE
from application.views import TaskView
from domain.tasks import MAX_TITLE_LENGTH, TaskStatus


class GetTaskQuery(Command):
    task_id: UUID


class TaskDetailsView(Result):
    task: TaskView
    subtasks: list[TaskView]
    dependencies: list[TaskView]


class ListTasksQuery(Command):
    status: TaskStatus | None = None
    assignee_id: UUID | None = None
    creator_id: UUID | None = None
    parent_id: UUID | None = None
    top_level_only: bool = False
    created_after: UtcMoment | None = None
    created_before: UtcMoment | None = None
    title_contains: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE_LENGTH)
    include_deleted: bool = False
    sort: TaskSort = TaskSort.CREATED_AT
    descending: bool = False
    limit: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE)
    offset: Offset = 0


class TaskPageView(Result):
    total: int
    limit: int
    offset: int
    tasks: list[TaskView]


class GetTask:
    """A task with its subtasks and the tasks it depends on."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, query: GetTaskQuery) -> TaskDetailsView:
        async with self._uow_factory(read_only=True) as uow:
            details = await uow.tasks.details(query.task_id)
        return TaskDetailsView(
            task=TaskView.of(details.task),
            subtasks=[TaskView.of(task) for task in details.subtasks],
            dependencies=[TaskView.of(task) for task in details.dependencies],
        )


class ListTasks:
    """A page of the tasks that match the filters, in a whitelisted order, with the total."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, query: ListTasksQuery) -> TaskPageView:
        async with self._uow_factory(read_only=True) as uow:
            page = await uow.tasks.find(TaskQuery(**query.model_dump()))
        return TaskPageView(
            total=page.total,
            limit=query.limit,
            offset=query.offset,
            tasks=[TaskView.of(task) for task in page.tasks],
        )


class ExportTasks:
    """Every task, oldest first, as a stream: memory stays flat however many there are."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self) -> AsyncGenerator[TaskView, None]:
        async with self._uow_factory(read_only=True) as uow:
            async for task in uow.tasks.export():
                yield TaskView.of(task)
