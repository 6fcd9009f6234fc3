"""Errors as RFC 9457 problem details: which status each refusal gets, and the handlers.

The classification mirrors the CLI's (`entrypoints/cli/errors.py`): what the CLI reports as
refused is a 4xx here, a transient or unavailable database is a 503 with `Retry-After`.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import pydantic
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from application.errors import (
    BatchItemRefused,
    DatabaseUnavailable,
    InvalidApiToken,
    RetryableError,
)
from domain.errors import (
    ConcurrencyConflict,
    Conflict,
    DependencyCycle,
    DependencyNotDone,
    DomainError,
    IllegalTransition,
    InactiveUser,
    InsufficientFunds,
    InvalidTransfer,
    InvalidValue,
    NotFound,
    NotPermitted,
)
from entrypoints.http.auth import Forbidden, NotAuthenticated

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = "1"


class InvalidField(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem: `type` names the kind, `detail` this occurrence."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[InvalidField] | None = None


@dataclass(frozen=True)
class ProblemKind:
    status: int
    name: str
    title: str

    @property
    def type(self) -> str:
        # URNs name a kind of problem without promising a page behind it (RFC 9457, 3.1.1).
        return f"urn:keel:problem:{self.name}"


UNAUTHENTICATED = ProblemKind(401, "unauthenticated", "Not authenticated")
FORBIDDEN = ProblemKind(403, "forbidden", "Not allowed")
INVALID_INPUT = ProblemKind(422, "invalid-input", "Invalid input")
UNAVAILABLE = ProblemKind(503, "database-unavailable", "Database unavailable")
INTERNAL_ERROR = ProblemKind(500, "internal-error", "Internal error")

# Most specific first: the first class an error is an instance of decides its kind.
KINDS: list[tuple[type[Exception], ProblemKind]] = [
    (InvalidApiToken, UNAUTHENTICATED),
    (NotAuthenticated, UNAUTHENTICATED),
    (Forbidden, FORBIDDEN),
    (NotPermitted, FORBIDDEN),
    (NotFound, ProblemKind(404, "not-found", "Not found")),
    (InsufficientFunds, ProblemKind(409, "insufficient-funds", "Insufficient funds")),
    (ConcurrencyConflict, ProblemKind(409, "concurrent-change", "Changed concurrently")),
    (Conflict, ProblemKind(409, "conflict", "Conflict")),
    (IllegalTransition, ProblemKind(409, "illegal-transition", "Illegal transition")),
    (DependencyNotDone, ProblemKind(409, "dependency-not-done", "Dependency not done")),
    (DependencyCycle, ProblemKind(409, "dependency-cycle", "Dependency cycle")),
    (InactiveUser, ProblemKind(409, "inactive-user", "Inactive user")),
    (InvalidValue, INVALID_INPUT),
    (InvalidTransfer, ProblemKind(422, "invalid-transfer", "Invalid transfer")),
    (DomainError, ProblemKind(422, "refused", "Refused")),
    (RetryableError, ProblemKind(503, "try-again", "Try again")),
    (DatabaseUnavailable, UNAVAILABLE),
]


def kind_of(error: Exception) -> ProblemKind:
    for error_type, kind in KINDS:
        if isinstance(error, error_type):
            return kind
    return INTERNAL_ERROR


def problem_response(
    kind: ProblemKind, detail: str, errors: list[InvalidField] | None = None
) -> JSONResponse:
    problem = Problem(
        type=kind.type, title=kind.title, status=kind.status, detail=detail, errors=errors
    )
    headers = {}
    if kind.status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = "Bearer"
    if kind.status == HTTPStatus.SERVICE_UNAVAILABLE:
        headers["Retry-After"] = RETRY_AFTER_SECONDS
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True),
        status_code=kind.status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


async def refusal(request: Request, error: Exception) -> JSONResponse:
    """A refusal by a rule, the auth layer or the database; nothing was applied."""
    kind = kind_of(error.cause if isinstance(error, BatchItemRefused) else error)
    detail = str(error)
    if kind.status == HTTPStatus.SERVICE_UNAVAILABLE:
        detail += "; nothing was applied, try again"
    return problem_response(kind, detail)


async def invalid_request(request: Request, error: Exception) -> JSONResponse:
    """Input that breaks a model's rules: each field with its reason, never the input itself."""
    assert isinstance(error, RequestValidationError | pydantic.ValidationError)
    errors = [
        InvalidField(
            field=".".join(str(part) for part in problem["loc"]) or "input",
            message=str(problem["msg"]).removeprefix("Value error, "),
        )
        for problem in error.errors()
    ]
    detail = "; ".join(f"{invalid.field}: {invalid.message}" for invalid in errors)
    return problem_response(INVALID_INPUT, detail, errors)


async def http_error(request: Request, error: Exception) -> JSONResponse:
    """Starlette's own errors (an unknown path, a wrong method) in the same shape."""
    assert isinstance(error, HTTPException)
    phrase = HTTPStatus(error.status_code).phrase
    kind = ProblemKind(error.status_code, phrase.lower().replace(" ", "-"), phrase)
    response = problem_response(kind, str(error.detail))
    response.headers.update(error.headers or {})
    return response


def add_problem_handlers(app: FastAPI) -> None:
    for error_type in {error_type for error_type, _ in KINDS} | {BatchItemRefused}:
        app.add_exception_handler(error_type, refusal)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(pydantic.ValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    document_problems_only_as_problem_json(app)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route that may answer with these problems."""
    return {
        status: {
            "model": Problem,  # puts Problem among the schema's components
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def document_problems_only_as_problem_json(app: FastAPI) -> None:
    """Drop the `application/json` that FastAPI adds beside each problem response's
    `application/problem+json`: problems are only ever sent as the latter."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for operations in schema["paths"].values():
                for operation in operations.values():
                    for response in operation.get("responses", {}).values():
                        if PROBLEM_JSON in response.get("content", {}):
                            response["content"].pop("application/json", None)
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]
