"""In-memory fakes of the persistence adapters, with the same semantics, for fast unit tests."""

from infrastructure.in_memory.store import InMemoryStore
from infrastructure.in_memory.unit_of_work import InMemoryUnitOfWork

__all__ = ["InMemoryStore", "InMemoryUnitOfWork"]
