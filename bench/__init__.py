"""Benchmarks of Keel against hand-written driver code and a naive ORM (not part of the tests)."""
