"""Operator endpoints: liveness, readiness, Prometheus metrics, the failed-jobs queue."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from shua.core import jobs
from shua.core.ids import ID
from shua.web.deps import DB, AdminAuth, get_runtime

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is down"}})
async def readyz(request: Request, response: Response) -> dict[str, str]:
    """The database (and Redis, when configured) answer."""
    runtime = get_runtime(request)
    checks: dict[str, str] = {}
    try:
        async with runtime.database.transaction(write=False) as db:
            await db.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    if runtime.settings.redis_url:
        import redis.asyncio as aioredis

        client = aioredis.from_url(runtime.settings.redis_url, socket_connect_timeout=2)
        try:
            await client.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        finally:
            await client.aclose()
    ok = all(v == "ok" for v in checks.values())
    response.status_code = 200 if ok else 503
    return {"status": "ok" if ok else "unavailable", **checks}


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests and latency by route, job queue depth and failures."""
    runtime = get_runtime(request)
    async with runtime.database.transaction(write=False) as db:
        stats = await jobs.queue_stats(db)
    jobs.JOB_QUEUE_DEPTH.set(sum(stats.get(s, 0) for s in (jobs.QUEUED, jobs.DISPATCHED, jobs.RUNNING)))
    jobs.JOBS_FAILED.set(stats.get(jobs.FAILED, 0))
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # several API processes: merge their files
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class JobRead(BaseModel):
    id: ID
    name: str
    status: str
    attempts: int
    max_attempts: int
    last_error: str | None
    run_at: datetime
    finished_at: datetime | None


def _job_read(job: jobs.Job) -> JobRead:
    return JobRead(id=job.id, name=job.name, status=job.status, attempts=job.attempts,
                   max_attempts=job.max_attempts, last_error=job.last_error, run_at=job.run_at,
                   finished_at=job.finished_at)


@router.get("/api/v1/admin/jobs/failed", tags=["admin"])
async def list_failed_jobs(_admin: AdminAuth, db: DB,
                           limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[JobRead]:
    """Jobs that used up their attempts (administrators only)."""
    return [_job_read(j) for j in await jobs.failed_jobs(db, limit=limit)]


@router.post("/api/v1/admin/jobs/{job_id}/retry", tags=["admin"])
async def retry_job(job_id: ID, _admin: AdminAuth, db: DB) -> JobRead:
    """Queue a failed job again with fresh attempts."""
    return _job_read(await jobs.retry_job(db, job_id=job_id))
