"""Base models and field types shared by the commands and results of the use cases.

Field rules call the domain's own validators, so a rule is written once and checked at the
boundary before any unit of work opens.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator, WithJsonSchema

from domain.credits import Credits
from domain.errors import InvalidValue
from domain.tasks import normalize_description, normalize_title
from domain.users import normalize_email, normalize_username


def _parse_amount(raw: Any) -> Credits:
    if isinstance(raw, Credits):
        raw = raw.value
    return Credits.positive(raw)


def _parse_text(normalize: Any) -> Any:
    def parse(raw: Any) -> str:
        if not isinstance(raw, str):
            raise InvalidValue(f"expected text, got {type(raw).__name__}")
        result: str = normalize(raw)
        return result

    return parse


Amount = Annotated[
    Credits,
    PlainValidator(_parse_amount),
    PlainSerializer(lambda credits: str(credits.value), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,2})?$"}),
]
"""A positive amount of credits with at most two decimal places; floats are refused."""

Email = Annotated[str, PlainValidator(_parse_text(normalize_email))]
Username = Annotated[str, PlainValidator(_parse_text(normalize_username))]
Title = Annotated[str, PlainValidator(_parse_text(normalize_title))]
Description = Annotated[str, PlainValidator(_parse_text(normalize_description))]


class Command(BaseModel):
    """Input of a use case: immutable, and unknown fields are an error rather than ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Result(BaseModel):
    """Output of a use case."""

    model_config = ConfigDict(frozen=True)
