"""Base models and field types shared by the commands and results of the use cases.

Field rules call the domain's own validators, so a rule is written once and checked at the
boundary before any unit of work opens.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
)

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

# A plain validator hides the type from JSON Schema: say it, so API documents are exact.
_TEXT = WithJsonSchema({"type": "string"})


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidValue(f"{moment} is out of range in UTC") from None


MAX_OFFSET = 1_000_000_000
"""Far beyond any list Keel holds; keeps offsets within the database's integers."""

Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
UtcMoment = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""A time with an offset that has a UTC equivalent (year 1 ahead of UTC has none)."""

Email = Annotated[str, PlainValidator(_parse_text(normalize_email)), _TEXT]
Username = Annotated[str, PlainValidator(_parse_text(normalize_username)), _TEXT]
Title = Annotated[str, PlainValidator(_parse_text(normalize_title)), _TEXT]
Description = Annotated[str, PlainValidator(_parse_text(normalize_description)), _TEXT]


class Command(BaseModel):
    """Input of a use case: immutable, and unknown fields are an error rather than ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Result(BaseModel):
    """Output of a use case."""

    model_config = ConfigDict(frozen=True)
