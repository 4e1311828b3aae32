"""Job handlers used by the job tests; a module so spawned worker processes can import them."""

from __future__ import annotations

from typing import Any

from shua.core import clock, jobs
from shua.core.db import Database
from shua.core.ids import new_id

FAIL_TIMES: dict[str, int] = {}


@jobs.task("test.record", max_attempts=3, backoff_seconds=10)
async def record(database: Database, payload: dict[str, Any]) -> None:
    """Leaves a trace row per run, so tests can count executions across processes."""
    key = str(payload.get("key", ""))
    if FAIL_TIMES.get(key, 0) > 0:
        FAIL_TIMES[key] -= 1
        raise RuntimeError(f"planned failure for {key}")
    async with database.transaction() as db:
        db.add(jobs.OutboxEvent(id=new_id(), topic="test.ran", payload=payload, created_at=clock.utcnow()))


@jobs.task("test.always_fails", max_attempts=2, backoff_seconds=1)
async def always_fails(database: Database, payload: dict[str, Any]) -> None:
    raise ValueError("this job always fails")


jobs.subscribe("test.happened", "test.record")
