"""Administrators' API for A/B experiments: the same operations as `shua experiments …`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from shua.core.pagination import Page
from shua.feed import experiments
from shua.feed.events_routes import PROBLEMS
from shua.feed.events_schemas import ArmRead, ArmReadoutRead, ExperimentCreate, ExperimentRead, ReadoutRead
from shua.feed.models import Experiment
from shua.web.deps import DB, AdminAuth, RuntimeDep

admin = APIRouter(prefix="/api/v1/admin/experiments", tags=["admin"])
Key = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_.-]{0,39}$", description="The experiment's key")]
ADMIN_PROBLEMS = {**PROBLEMS, 404: PROBLEMS[422], 409: PROBLEMS[422]}


def experiment_read(row: Experiment) -> ExperimentRead:
    return ExperimentRead(
        key=row.key, description=row.description, status=row.status,
        arms=[ArmRead(name=a.name, weight=a.weight, params=a.params) for a in experiments.arms_of(row)],
        started_at=row.started_at, stopped_at=row.stopped_at)


def readout_read(result: experiments.Readout) -> ReadoutRead:
    return ReadoutRead(key=result.key, since=result.since, until=result.until, arms=[
        ArmReadoutRead(arm=a.arm, users=a.users, sessions=a.sessions,
                       dwell_per_session_s=round(a.dwell_per_session_s, 3),
                       completion_rate=round(a.completion_rate, 4), likes_per_session=round(a.likes_per_session, 4),
                       next_day_retention=None if a.next_day_retention is None else round(a.next_day_retention, 4),
                       retention_eligible=a.retention_eligible)
        for a in result.arms])


@admin.get("", responses=ADMIN_PROBLEMS)
async def list_experiments(_admin: AdminAuth, db: DB, cursor: Annotated[str | None, Query(max_length=300)] = None,
                           limit: Annotated[int, Query(ge=1, le=100)] = 50) -> Page[ExperimentRead]:
    """Every experiment, newest first (administrators only)."""
    rows, next_cursor = await experiments.list_page(db, cursor=cursor, limit=limit)
    return Page(items=[experiment_read(r) for r in rows], next_cursor=next_cursor)


@admin.post("", status_code=status.HTTP_201_CREATED, responses=ADMIN_PROBLEMS)
async def create_experiment(body: ExperimentCreate, _admin: AdminAuth, db: DB) -> ExperimentRead:
    """Define and start an experiment; users are bucketed into its arms by weight."""
    arms = [experiments.Arm(name=a.name, weight=a.weight, params=dict(a.params)) for a in body.arms]
    return experiment_read(await experiments.create(db, key=body.key, arms=arms, description=body.description))


@admin.post("/{key}/stop", responses=ADMIN_PROBLEMS)
async def stop_experiment(key: Key, _admin: AdminAuth, db: DB) -> ExperimentRead:
    """Stop an experiment: its arms' parameters no longer apply; the readout stays."""
    return experiment_read(await experiments.stop(db, key=key))


@admin.get("/{key}/readout", responses=ADMIN_PROBLEMS)
async def read_readout(key: Key, _admin: AdminAuth, db: DB, runtime: RuntimeDep) -> ReadoutRead:
    """Per arm: users, sessions, dwell time per session, completion rate, likes per session and
    next-day retention."""
    gap = timedelta(minutes=runtime.settings.feed_session_gap_minutes)
    return readout_read(await experiments.readout(db, key=key, session_gap=gap))
