"""What a hostile command is, and how cases are built: bad input in one field, or valid input
that a rule must refuse.

A case names the use case, holds the raw input (with `Ref`s for members of the world) and the
errors that count as a specific, clear refusal. `field` names the input that is at fault when
the refusal is a validation error, which must then point at that field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from pydantic import ValidationError

from tests.hostile.world import Ref

Refusals = tuple[type[Exception], ...]


@dataclass(frozen=True)
class Case:
    use_case: str
    payload: dict[str, Any]
    refusals: Refusals
    field: str | None = None


def invalid(
    use_case: str, field: str, bad: st.SearchStrategy[Any], **valid: Any
) -> st.SearchStrategy[Case]:
    """Cases whose `field` holds a value from `bad`; the other fields are valid."""
    return bad.map(lambda value: Case(use_case, {**valid, field: value}, (ValidationError,), field))


def refused(
    use_case: str, refusals: Refusals, **payloads: st.SearchStrategy[Any]
) -> st.SearchStrategy[Case]:
    """Cases of valid input that a rule must refuse; each field drawn from its strategy."""
    return st.fixed_dictionaries(payloads).map(lambda payload: Case(use_case, payload, refusals))


def one_of(*refs: Ref) -> st.SearchStrategy[Ref]:
    return st.sampled_from(refs)


extra_fields = st.sampled_from([("id", "x"), ("balance", "1000"), ("admin", True)])


def with_extra_field(use_case: str, **valid: Any) -> st.SearchStrategy[Case]:
    """Unknown fields are an error, never silently dropped."""
    return extra_fields.map(
        lambda extra: Case(use_case, {**valid, extra[0]: extra[1]}, (ValidationError,), extra[0])
    )
