"""Probes for orchestrators: is the process up, and can it serve requests."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from entrypoints.http.dependencies import Keel
from infrastructure.database.health import check_health

router = APIRouter(tags=["operations"])


class Liveness(BaseModel):
    status: Literal["ok"]


class PoolView(BaseModel):
    size: int
    checked_in: int
    checked_out: int
    overflow: int


class Readiness(BaseModel):
    """The database's health, as `keel doctor` reports it, less the database's address."""

    ready: bool
    reachable: bool
    revision: str | None
    head: str | None
    pool: PoolView | None
    problem: str | None


@router.get("/healthz", summary="The process is up; touches nothing else")
async def healthz() -> Liveness:
    return Liveness(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready"}},
    summary="The database is reachable and migrated to the newest revision",
)
async def readyz(keel: Keel) -> JSONResponse:
    report = await check_health(keel.engine())
    pool = report.pool
    readiness = Readiness(
        ready=report.healthy,
        reachable=report.reachable,
        revision=report.revision,
        head=report.head,
        pool=None if pool is None else PoolView(**asdict(pool)),
        problem=report.problem,
    )
    return JSONResponse(
        readiness.model_dump(mode="json"), status_code=200 if report.healthy else 503
    )
