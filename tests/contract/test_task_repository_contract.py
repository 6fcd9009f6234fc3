"""The contract every task repository keeps, on every backend."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.errors import RetryableError
from application.ports.task_queries import TaskQuery, TaskSort
from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from application.use_cases.tasks.changing import AddDependency, AddDependencyCommand
from domain.credits import Credits
from domain.errors import Conflict, DependencyCycle, NotFound
from domain.tasks import Task, TaskStatus
from domain.users import User
from infrastructure.database.repositories import tasks as sql_tasks
from tests.builders import new_user

BASE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


def a_task(creator: User, title: str = "task", **fields: Any) -> Task:
    """A task with every field chosen by the test, as a row would hold it."""
    created_at = fields.pop("created_at", BASE)
    values: dict[str, Any] = {
        "id": uuid4(),
        "description": "",
        "status": TaskStatus.TODO,
        "assignee_id": None,
        "parent_id": None,
        "dependency_ids": frozenset(),
        "bounty": Credits.zero(),
        "deleted_at": None,
        "updated_at": created_at,
        "version": 1,
    }
    values.update(fields)
    values["dependency_ids"] = frozenset(values["dependency_ids"])
    return Task(title=title, creator_id=creator.id, created_at=created_at, **values)


def state_of(task: Task) -> dict[str, object]:
    """What a row holds of a task: every attribute but the pending events."""
    return {name: value for name, value in vars(task).items() if name != "_pending_events"}


async def stored_users(uow_factory: UnitOfWorkFactory, count: int) -> list[User]:
    users = [new_user() for _ in range(count)]
    async with uow_factory() as uow:
        for user in users:
            await uow.users.add(user)
        await uow.commit()
    return users


async def store(uow_factory: UnitOfWorkFactory, *tasks: Task) -> None:
    async with uow_factory() as uow:
        for task in tasks:
            await uow.tasks.add(task)
        await uow.commit()


async def load(uow_factory: UnitOfWorkFactory, task_id: UUID) -> Task:
    async with uow_factory(read_only=True) as uow:
        return await uow.tasks.get(task_id)


async def absent(uow_factory: UnitOfWorkFactory, task_id: UUID) -> bool:
    async with uow_factory(read_only=True) as uow:
        try:
            await uow.tasks.get(task_id)
        except NotFound:
            return True
    return False


@pytest.fixture
async def people(uow_factory: UnitOfWorkFactory) -> list[User]:
    """Three committed users: the usual creator, an assignee, and another creator."""
    return await stored_users(uow_factory, 3)


# --- round trip and change tracking --------------------------------------------------------------


async def test_an_added_task_comes_back_with_every_field(
    uow_factory: UnitOfWorkFactory, people: list[User]
) -> None:
    creator, assignee, _ = people
    parent, first, second = a_task(creator, "p"), a_task(creator, "a"), a_task(creator, "b")
    full = a_task(
        creator,
        "Ünïcode title ☕ with 'quotes'",
        description="line one\nline two\twith a tab",
        status=TaskStatus.IN_PROGRESS,
        assignee_id=assignee.id,
        parent_id=parent.id,
        dependency_ids={first.id, second.id},
        bounty=Credits(Decimal("999999999999.99")),
        deleted_at=at(3.000001),
        created_at=at(1.123456),
        updated_at=at(2.654321),
    )
    bare = a_task(creator, "bare")
    await store(uow_factory, parent, first, second, full, bare)

    for task in (full, bare):
        assert state_of(await load(uow_factory, task.id)) == state_of(task)


async def test_changes_to_a_loaded_task_persist_without_a_save_call(
    uow_factory: UnitOfWorkFactory, people: list[User]
) -> None:
    creator, assignee, _ = people
    task, other = a_task(creator), a_task(creator, "other")
    await store(uow_factory, task, other)

    async with uow_factory() as uow:
        [loaded] = await uow.tasks.get_for_update([task.id])
        loaded.assign(await uow.users.get(assignee.id))
        loaded.start()
        loaded.depend_on(await uow.tasks.get(other.id), set())
        loaded.delete()
        await uow.commit()

    reloaded = await load(uow_factory, task.id)
    assert state_of(reloaded) == state_of(loaded)
    assert (reloaded.status, reloaded.assignee_id, reloaded.dependency_ids) == (
        TaskStatus.IN_PROGRESS,
        assignee.id,
        frozenset({other.id}),
    )
    assert reloaded.deleted_at is not None


async def test_a_unit_hands_out_one_task_object_per_id(
    uow_factory: UnitOfWorkFactory, people: list[User]
) -> None:
    task = a_task(people[0])
    await store(uow_factory, task)
    async with uow_factory(read_only=True) as uow:
        first = await uow.tasks.get(task.id)
        assert (await uow.tasks.get_for_update([task.id]))[0] is first
        assert await uow.tasks.get_many([task.id, task.id]) == [first, first]


async def test_a_changed_task_gets_a_new_version_and_an_unchanged_one_keeps_it(
    uow_factory: UnitOfWorkFactory, people: list[User]
) -> None:
    changed, unchanged = a_task(people[0], "changed"), a_task(people[0], "unchanged")
    await store(uow_factory, changed, unchanged)

    for expected in (2, 3):
        async with uow_factory() as uow:
            first, second = await uow.tasks.get_for_update([changed.id, unchanged.id])
            first.assign(await uow.users.get(people[1].id))
            await uow.commit()
        assert (first.version, second.version) == (expected, 1)
        assert (await load(uow_factory, changed.id)).version == expected
        assert (await load(uow_factory, unchanged.id)).version == 1


async def test_a_task_changed_twice_in_one_unit_gets_one_new_version(
    uow_factory: UnitOfWorkFactory,
    people: list[User],
) -> None:
    task = a_task(people[0])
    await store(uow_factory, task)

    async with uow_factory() as uow:
        loaded = await uow.tasks.get(task.id)
        loaded.assign(await uow.users.get(people[1].id))
        await uow.tasks.find(TaskQuery())
        loaded.start()
        await uow.commit()

    assert (loaded.version, (await load(uow_factory, task.id)).version) == (2, 2)


# --- fetching -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lock", [False, True], ids=["get_many", "get_for_update"])
async def test_tasks_come_in_the_order_asked_and_a_missing_one_is_named(
    uow_factory: UnitOfWorkFactory, people: list[User], lock: bool
) -> None:
    first, second, third = (a_task(people[0], name) for name in ("a", "b", "c"))
    await store(uow_factory, first, second, third)
    missing = uuid4()

    async with uow_factory() as uow:
        fetch = uow.tasks.get_for_update if lock else uow.tasks.get_many
        found = await fetch([third.id, first.id, second.id])
        assert [task.id for task in found] == [third.id, first.id, second.id]
        with pytest.raises(NotFound, match=f"task {missing}"):
            await fetch([first.id, missing])
        with pytest.raises(NotFound, match="task"):
            await uow.tasks.get(uuid4())


async def test_a_prefetched_task_is_handed_out_without_reading_it_again(
    uow_factory: UnitOfWorkFactory, people: list[User]
) -> None:
    task = a_task(people[0], "before")
    await store(uow_factory, task)
    unknown = uuid4()

    async with uow_factory(read_only=True) as reader:
        await reader.tasks.prefetch([task.id, unknown])
        # A read would now see the other unit's commit (on PostgreSQL and in memory).
        async with uow_factory() as writer:
            (await writer.tasks.get(task.id)).title = "after"
            await writer.commit()
        assert (await reader.tasks.get(task.id)).title == "before"
        with pytest.raises(NotFound):
            await reader.tasks.get(unknown)

    assert (await load(uow_factory, task.id)).title == "after"


MANY_IDS = 40_000
"""More ids than PostgreSQL (32,767) or a default SQLite build (32,766) bind in one statement."""


async def test_any_number_of_ids_can_be_prefetched_and_fetched(
    uow_factory: UnitOfWorkFactory,
    people: list[User],
) -> None:
    # CreateTasks prefetches every id a chunk of 500 items names, up to 1,000 dependencies each.
    known = a_task(people[0])
    await store(uow_factory, known)
    unknown = [uuid4() for _ in range(MANY_IDS)]

    async with uow_factory(read_only=True) as uow:
        await uow.tasks.prefetch([known.id, *unknown])
        assert (await uow.tasks.get(known.id)).id == known.id
        with pytest.raises(NotFound, match="task"):
            await uow.tasks.get_many([*unknown, known.id])


# --- what the store refuses ---------------------------------------------------------------------


async def test_adding_a_task_the_unit_already_holds_is_a_conflict(
    uow_factory: UnitOfWorkFactory, people: list[User]
) -> None:
    task, stored = a_task(people[0], "new"), a_task(people[0], "stored")
    await store(uow_factory, stored)
    async with uow_factory() as uow:
        await uow.tasks.add(task)
        with pytest.raises(Conflict):
            await uow.tasks.add(a_task(people[0], "twin", id=task.id))
        await uow.tasks.get(stored.id)
        with pytest.raises(Conflict):
            await uow.tasks.add(a_task(people[0], "twin", id=stored.id))


async def test_adding_a_committed_task_id_again_is_a_conflict_and_writes_nothing(
    uow_factory: UnitOfWorkFactory, people: list[User]
) -> None:
    stored = a_task(people[0], "stored")
    await store(uow_factory, stored)
    bystander = a_task(people[0], "bystander")

    with pytest.raises(Conflict, match="already exists"):
        async with uow_factory() as uow:
            await uow.tasks.add(bystander)
            await uow.tasks.add(a_task(people[0], "twin", id=stored.id))
            await uow.commit()

    assert await absent(uow_factory, bystander.id)
    assert (await load(uow_factory, stored.id)).title == "stored"


@pytest.mark.parametrize("reference", ["creator", "assignee", "parent", "dependency"])
async def test_a_task_referring_to_an_unknown_record_is_refused_at_commit_and_writes_nothing(
    uow_factory: UnitOfWorkFactory, people: list[User], reference: str
) -> None:
    ghost = uuid4()
    references: dict[str, dict[str, Any]] = {
        "assignee": {"assignee_id": ghost},
        "parent": {"parent_id": ghost},
        "dependency": {"dependency_ids": {ghost}},
    }
    fields = references.get(reference, {})
    creator = people[0] if reference != "creator" else User.register("ghost@example.com", "ghost")
    refused, bystander = a_task(creator, "refused", **fields), a_task(people[0], "bystander")

    with pytest.raises(NotFound) as raised:
        async with uow_factory() as uow:
            await uow.tasks.add(bystander)
            await uow.tasks.add(refused)
            await uow.commit()

    # What the SQL adapters make of a foreign-key violation; the fake raises the same.
    assert (raised.value.kind, raised.value.key) == ("referenced record", "(foreign key)")
    assert await absent(uow_factory, bystander.id)
    assert await absent(uow_factory, refused.id)


async def test_each_refused_commit_raises_an_error_of_its_own(
    uow_factory: UnitOfWorkFactory,
) -> None:
    raised: list[NotFound] = []
    for _ in range(2):
        with pytest.raises(NotFound) as refused:
            async with uow_factory() as uow:
                await uow.tasks.add(a_task(new_user()))
                await uow.commit()
        raised.append(refused.value)
    assert raised[0] is not raised[1]


# --- reachable dependencies ---------------------------------------------------------------------


async def test_reachable_dependencies_follow_every_path_and_include_the_units_own_changes(
    uow_factory: UnitOfWorkFactory, people: list[User]
) -> None:
    creator = people[0]
    # d <- c <- b <- a, and a diamond: b and e both wait for d
    d = a_task(creator, "d")
    c = a_task(creator, "c", dependency_ids={d.id})
    e = a_task(creator, "e", dependency_ids={d.id})
    b = a_task(creator, "b", dependency_ids={c.id, e.id})
    a = a_task(creator, "a", dependency_ids={b.id})
    loner = a_task(creator, "loner")
    await store(uow_factory, d, c, e, b, a, loner)

    async with uow_factory() as uow:
        reachable = uow.tasks.reachable_dependencies
        assert await reachable(a.id) == {b.id, c.id, d.id, e.id}
        assert await reachable(b.id) == {c.id, d.id, e.id}
        assert await reachable(d.id) == set()
        assert await reachable(uuid4()) == set()
        (await uow.tasks.get(d.id)).depend_on(await uow.tasks.get(loner.id), set())
        assert await reachable(a.id) == {b.id, c.id, d.id, e.id, loner.id}


# --- details ------------------------------------------------------------------------------------


async def test_details_show_the_live_subtasks_and_every_dependency_oldest_first(
    uow_factory: UnitOfWorkFactory, people: list[User]
) -> None:
    creator = people[0]
    old_dependency = a_task(creator, "old dependency", created_at=at(1))
    gone_dependency = a_task(creator, "gone dependency", created_at=at(0), deleted_at=at(5))
    task = a_task(
        creator, "task", created_at=at(2), dependency_ids={old_dependency.id, gone_dependency.id}
    )
    later = a_task(creator, "later", parent_id=task.id, created_at=at(4))
    earlier = a_task(creator, "earlier", parent_id=task.id, created_at=at(3))
    deleted = a_task(creator, "deleted", parent_id=task.id, created_at=at(3), deleted_at=at(6))
    grandchild = a_task(creator, "grandchild", parent_id=earlier.id, created_at=at(5))
    await store(
        uow_factory, old_dependency, gone_dependency, task, later, earlier, deleted, grandchild
    )

    async with uow_factory(read_only=True) as uow:
        details = await uow.tasks.details(task.id)

    assert state_of(details.task) == state_of(task)
    assert [t.id for t in details.subtasks] == [earlier.id, later.id]
    assert [t.id for t in details.dependencies] == [gone_dependency.id, old_dependency.id]
    assert state_of(details.subtasks[0]) == state_of(earlier)


async def test_details_see_the_units_own_changes(
    uow_factory: UnitOfWorkFactory, people: list[User]
) -> None:
    creator = people[0]
    task = a_task(creator, "task")
    child = a_task(creator, "child", parent_id=task.id, created_at=at(1))
    await store(uow_factory, task, child)

    async with uow_factory() as uow:
        (await uow.tasks.get(child.id)).delete()
        newcomer = a_task(creator, "newcomer", parent_id=task.id, created_at=at(2))
        await uow.tasks.add(newcomer)
        details = await uow.tasks.details(task.id)

    assert [t.id for t in details.subtasks] == [newcomer.id]


async def test_details_of_an_unknown_task_are_not_found(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory(read_only=True) as uow:
        with pytest.raises(NotFound, match="task"):
            await uow.tasks.details(uuid4())


# --- find ---------------------------------------------------------------------------------------


def ordered_id(position: int) -> UUID:
    """An id whose place in id order is `position`, so ties have a known order."""
    return UUID(int=(position << 96) | uuid4().int >> 32)


@dataclass
class Catalogue:
    """Five live tasks and one deleted, with ties in every sortable column.

    Ids are ordered t3 < t5 < t4 < t2 < t1 < t6, against the order of the names, so that a
    tie broken by anything but the id shows.
    """

    tasks: dict[str, Task]
    ada: User
    bob: User
    cyd: User

    def names(self, found: list[Task]) -> list[str]:
        by_id = {task.id: name for name, task in self.tasks.items()}
        return [by_id[task.id] for task in found]


@pytest.fixture
async def catalogue(uow_factory: UnitOfWorkFactory, people: list[User]) -> Catalogue:
    ada, bob, cyd = people
    five, one, two = Credits(Decimal(5)), Credits(Decimal(1)), Credits(Decimal(2))
    t1 = a_task(ada, "apple", id=ordered_id(5), bounty=five, created_at=at(1), updated_at=at(9))
    t2 = a_task(
        ada,
        "banana",
        id=ordered_id(4),
        status=TaskStatus.IN_PROGRESS,
        assignee_id=bob.id,
        bounty=five,
        created_at=at(2),
        updated_at=at(8),
    )
    t3 = a_task(
        ada,
        "apple",
        id=ordered_id(1),
        status=TaskStatus.DONE,
        assignee_id=bob.id,
        parent_id=t1.id,
        created_at=at(2),
        updated_at=at(9),
    )
    t4 = a_task(
        cyd,
        "cherry",
        id=ordered_id(3),
        status=TaskStatus.CANCELLED,
        parent_id=t1.id,
        bounty=one,
        created_at=at(3),
        updated_at=at(3.5),
    )
    t5 = a_task(cyd, "banana", id=ordered_id(2), created_at=at(4), updated_at=at(8))
    t6 = a_task(
        ada,
        "apple",
        id=ordered_id(6),
        parent_id=t1.id,
        bounty=two,
        created_at=at(5),
        deleted_at=at(6),
    )
    tasks = {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5, "t6": t6}
    await store(uow_factory, *tasks.values())
    return Catalogue(tasks, ada, bob, cyd)


FILTERS: list[tuple[str, Callable[[Catalogue], TaskQuery], list[str]]] = [
    ("nothing", lambda c: TaskQuery(), ["t1", "t3", "t2", "t4", "t5"]),
    (
        "include deleted",
        lambda c: TaskQuery(include_deleted=True),
        ["t1", "t3", "t2", "t4", "t5", "t6"],
    ),
    ("todo", lambda c: TaskQuery(status=TaskStatus.TODO), ["t1", "t5"]),
    (
        "todo with deleted",
        lambda c: TaskQuery(status=TaskStatus.TODO, include_deleted=True),
        ["t1", "t5", "t6"],
    ),
    ("in progress", lambda c: TaskQuery(status=TaskStatus.IN_PROGRESS), ["t2"]),
    ("done", lambda c: TaskQuery(status=TaskStatus.DONE), ["t3"]),
    ("cancelled", lambda c: TaskQuery(status=TaskStatus.CANCELLED), ["t4"]),
    ("assignee", lambda c: TaskQuery(assignee_id=c.bob.id), ["t3", "t2"]),
    ("assignee without tasks", lambda c: TaskQuery(assignee_id=c.ada.id), []),
    ("creator", lambda c: TaskQuery(creator_id=c.cyd.id), ["t4", "t5"]),
    ("parent", lambda c: TaskQuery(parent_id=c.tasks["t1"].id), ["t3", "t4"]),
    (
        "parent with deleted",
        lambda c: TaskQuery(parent_id=c.tasks["t1"].id, include_deleted=True),
        ["t3", "t4", "t6"],
    ),
    ("top level", lambda c: TaskQuery(top_level_only=True), ["t1", "t2", "t5"]),
    ("created after", lambda c: TaskQuery(created_after=at(2)), ["t4", "t5"]),
    ("created before", lambda c: TaskQuery(created_before=at(2)), ["t1"]),
    (
        "created between",
        lambda c: TaskQuery(created_after=at(1), created_before=at(4)),
        ["t3", "t2", "t4"],
    ),
    ("title, any case", lambda c: TaskQuery(title_contains="PpL"), ["t1", "t3"]),
    ("title, middle", lambda c: TaskQuery(title_contains="nan"), ["t2", "t5"]),
    ("title, no match", lambda c: TaskQuery(title_contains="durian"), []),
    (
        "several at once",
        lambda c: TaskQuery(status=TaskStatus.TODO, creator_id=c.cyd.id, top_level_only=True),
        ["t5"],
    ),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [(query, expected) for _, query, expected in FILTERS],
    ids=[name for name, _, _ in FILTERS],
)
async def test_find_keeps_the_tasks_that_match_every_filter(
    uow_factory: UnitOfWorkFactory,
    catalogue: Catalogue,
    query: Callable[[Catalogue], TaskQuery],
    expected: list[str],
) -> None:
    async with uow_factory(read_only=True) as uow:
        page = await uow.tasks.find(query(catalogue))
    assert catalogue.names(page.tasks) == expected
    assert page.total == len(expected)


ASCENDING = {
    TaskSort.CREATED_AT: ["t1", "t3", "t2", "t4", "t5"],
    TaskSort.UPDATED_AT: ["t4", "t5", "t2", "t3", "t1"],
    TaskSort.TITLE: ["t3", "t1", "t5", "t2", "t4"],
    TaskSort.STATUS: ["t4", "t3", "t2", "t5", "t1"],
    TaskSort.BOUNTY: ["t3", "t5", "t4", "t2", "t1"],
}


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort", list(TaskSort))
async def test_find_sorts_by_the_column_then_by_id_in_the_same_direction(
    uow_factory: UnitOfWorkFactory, catalogue: Catalogue, sort: TaskSort, descending: bool
) -> None:
    async with uow_factory(read_only=True) as uow:
        page = await uow.tasks.find(TaskQuery(sort=sort, descending=descending))
    expected = ASCENDING[sort][::-1] if descending else ASCENDING[sort]
    assert catalogue.names(page.tasks) == expected


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        (0, 2, ["t3", "t1"]),
        (2, 2, ["t5", "t2"]),
        (4, 2, ["t4"]),
        (5, 2, []),
        (1, 50, ["t1", "t5", "t2", "t4"]),
    ],
)
async def test_find_returns_one_page_and_the_total_of_all_matches(
    uow_factory: UnitOfWorkFactory,
    catalogue: Catalogue,
    offset: int,
    limit: int,
    expected: list[str],
) -> None:
    async with uow_factory(read_only=True) as uow:
        page = await uow.tasks.find(TaskQuery(sort=TaskSort.TITLE, limit=limit, offset=offset))
    assert catalogue.names(page.tasks) == expected
    assert page.total == 5


async def test_find_returns_tasks_with_every_field(
    uow_factory: UnitOfWorkFactory, catalogue: Catalogue
) -> None:
    async with uow_factory(read_only=True) as uow:
        page = await uow.tasks.find(TaskQuery(include_deleted=True))
    stored = {task.id: task for task in catalogue.tasks.values()}
    assert [state_of(task) for task in page.tasks] == [
        state_of(stored[task.id]) for task in page.tasks
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("50%", ["fig_50%"]), ("_50", ["fig_50%"]), ("/", ["a/b"]), ("50", ["fig_50%", "fig 500"])],
)
async def test_find_takes_the_title_text_literally(
    uow_factory: UnitOfWorkFactory, people: list[User], text: str, expected: list[str]
) -> None:
    titles = ["fig_50%", "fig 500", "a/b", "ab"]
    await store(
        uow_factory, *(a_task(people[0], t, created_at=at(i)) for i, t in enumerate(titles))
    )
    async with uow_factory(read_only=True) as uow:
        page = await uow.tasks.find(TaskQuery(title_contains=text))
    assert [task.title for task in page.tasks] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("indien", ["ÉTÉ INDIEN", "été indien"]), ("été", ["été indien"]), ("ÉTÉ", ["ÉTÉ INDIEN"])],
)
async def test_find_folds_the_case_of_ascii_letters_only_on_every_backend(
    uow_factory: UnitOfWorkFactory, people: list[User], text: str, expected: list[str]
) -> None:
    # SQLite's lower() folds A-Z only, and so does the fake, so every backend agrees; a
    # PostgreSQL server with a non-C collation folds more.
    titles = ["ÉTÉ INDIEN", "été indien"]
    await store(
        uow_factory, *(a_task(people[0], t, created_at=at(i)) for i, t in enumerate(titles))
    )
    async with uow_factory(read_only=True) as uow:
        page = await uow.tasks.find(TaskQuery(title_contains=text))
    assert [task.title for task in page.tasks] == expected


async def test_find_sees_the_units_own_changes(
    uow_factory: UnitOfWorkFactory, people: list[User]
) -> None:
    kept, dropped = a_task(people[0], "kept"), a_task(people[0], "dropped")
    await store(uow_factory, kept, dropped)
    async with uow_factory() as uow:
        (await uow.tasks.get(dropped.id)).delete()
        added = a_task(people[0], "added", created_at=at(1))
        await uow.tasks.add(added)
        page = await uow.tasks.find(TaskQuery())
    assert [task.id for task in page.tasks] == [kept.id, added.id]


# --- export -------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1000, 2], ids=["one-chunk", "many-chunks"])
async def test_export_yields_every_task_oldest_first_with_its_dependencies(
    uow_factory: UnitOfWorkFactory,
    people: list[User],
    chunk_size: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small chunks make the SQL adapter read several, each with its own dependency query.
    monkeypatch.setattr(sql_tasks, "EXPORT_CHUNK_SIZE", chunk_size)
    creator = people[0]
    first = a_task(creator, "first", created_at=at(1))
    tie_low = a_task(creator, "tie low", id=ordered_id(1), created_at=at(2))
    tie_high = a_task(
        creator, "tie high", id=ordered_id(2), created_at=at(2), dependency_ids={first.id}
    )
    deleted = a_task(creator, "deleted", created_at=at(3), deleted_at=at(4))
    last = a_task(creator, "last", created_at=at(5), dependency_ids={first.id, tie_low.id})
    await store(uow_factory, last, deleted, tie_high, tie_low, first)

    async with uow_factory(read_only=True) as uow:
        exported = [task async for task in uow.tasks.export()]

    expected = [first, tie_low, tie_high, deleted, last]
    assert [state_of(task) for task in exported] == [state_of(task) for task in expected]


async def test_export_of_an_empty_store_yields_nothing(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory(read_only=True) as uow:
        assert [task async for task in uow.tasks.export()] == []


# --- concurrency --------------------------------------------------------------------------------


def pausing_before_commit(
    uow_factory: UnitOfWorkFactory, pause: Callable[[], Awaitable[None]]
) -> UnitOfWorkFactory:
    """Units of `uow_factory` that wait for `pause()` before they commit."""

    def factory(*, read_only: bool = False) -> AbstractUnitOfWork:
        uow = uow_factory(read_only=read_only)
        commit = uow.commit

        async def paused_commit() -> None:
            await pause()
            await commit()

        uow.commit = paused_commit  # type: ignore[method-assign]
        return uow

    return factory


async def test_concurrent_units_cannot_close_a_dependency_cycle_together(
    uow_factory: UnitOfWorkFactory,
    people: list[User],
) -> None:
    creator = people[0]
    c = a_task(creator, "c")
    b = a_task(creator, "b")
    a = a_task(creator, "a", dependency_ids={b.id})
    await store(uow_factory, c, b, a)
    arrived: list[None] = []
    both_checked = asyncio.Event()

    async def wait_for_the_other() -> None:
        # Where units run one at a time the other never arrives: give up waiting for it.
        arrived.append(None)
        if len(arrived) == 2:
            both_checked.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both_checked.wait(), timeout=1.0)

    add = AddDependency(pausing_before_commit(uow_factory, wait_for_the_other))
    outcomes = await asyncio.gather(
        add(AddDependencyCommand(task_id=b.id, depends_on_id=c.id)),
        add(AddDependencyCommand(task_id=c.id, depends_on_id=a.id)),
        return_exceptions=True,
    )

    refused = [o for o in outcomes if isinstance(o, DependencyCycle | RetryableError)]
    assert len(refused) == 1, outcomes
    async with uow_factory(read_only=True) as uow:
        for task in (a, b, c):
            assert task.id not in await uow.tasks.reachable_dependencies(task.id)
