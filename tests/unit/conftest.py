from __future__ import annotations

import pytest

from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from infrastructure.in_memory import InMemoryStore, InMemoryUnitOfWork


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def fake_uow_factory(store: InMemoryStore) -> UnitOfWorkFactory:
    def factory(*, read_only: bool = False) -> AbstractUnitOfWork:
        return InMemoryUnitOfWork(store, read_only=read_only)

    return factory
