"""Domain-event outbox and the job runner.

Events and jobs are rows written in the same transaction as the change that caused them, so
nothing is sent for a change that rolled back and nothing is lost by a crash after commit.
The `jobs` table is the durable truth (status, attempts, lease); delivery is at least once, so
every handler must be idempotent.

Two brokers move due jobs to workers:
- `DatabaseBroker` (embedded): workers claim due rows straight from the table.
- `RedisBroker` (scale-out): a relay moves due rows to a Redis stream that many `shua worker`
  processes read through a consumer group. Redis only distributes; a lost message is re-sent
  when the row's lease expires.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from prometheus_client import Counter, Gauge
from sqlalchemy import JSON, BigInteger, Index, Integer, String, Table, Text, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock
from shua.core.db import Base, Database, UTCDateTime, id_column
from shua.core.errors import NotFound
from shua.core.ids import new_id

log = logging.getLogger("shua.jobs")

QUEUED, DISPATCHED, RUNNING, DONE, FAILED = "queued", "dispatched", "running", "done", "failed"

JOBS_RUN = Counter("shua_jobs_run_total", "Jobs finished", ["name", "outcome"])
JOB_QUEUE_DEPTH = Gauge("shua_job_queue_depth", "Jobs waiting or running", multiprocess_mode="max")
JOBS_FAILED = Gauge("shua_jobs_failed", "Jobs that exhausted their attempts", multiprocess_mode="max")


class OutboxEvent(Base):
    """Every domain event, in commit order; a log the feed and analytics can replay."""

    __tablename__ = "outbox_events"
    id: Mapped[int] = id_column()
    topic: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_run_at", "status", "run_at"),)

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


Handler = Callable[[Database, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class TaskSpec:
    name: str
    handler: Handler
    max_attempts: int
    timeout_seconds: float
    backoff_seconds: float


TASKS: dict[str, TaskSpec] = {}
SUBSCRIBERS: dict[str, list[str]] = {}


def task(
    name: str, *, max_attempts: int = 5, timeout_seconds: float = 300, backoff_seconds: float = 5
) -> Callable[[Handler], Handler]:
    """Register a job handler named "context.verb". Handlers take ids, reload, and are idempotent."""

    def register(handler: Handler) -> Handler:
        TASKS[name] = TaskSpec(name, handler, max_attempts, timeout_seconds, backoff_seconds)
        return handler

    return register


def subscribe(topic: str, task_name: str) -> None:
    """Deliver every event on `topic` to the task `task_name` (one job per event)."""
    names = SUBSCRIBERS.setdefault(topic, [])
    if task_name not in names:
        names.append(task_name)


async def enqueue(
    db: AsyncSession, name: str, payload: dict[str, Any], *, run_at: datetime | None = None,
    event_id: int | None = None,
) -> Job:
    spec = TASKS.get(name)
    if spec is None:
        raise LookupError(f"unknown task {name!r}")
    row = {"id": new_id(), "name": name, "payload": payload, "status": QUEUED, "attempts": 0,
           "max_attempts": spec.max_attempts, "run_at": run_at or clock.utcnow(), "event_id": event_id,
           "created_at": clock.utcnow()}
    # A Core INSERT, now: cheaper than the unit of work (it runs inside every payment) and the
    # row is there for the rest of the caller's transaction to see.
    await db.execute(insert(cast(Table, Job.__table__)), [row])
    return Job(**row)


async def publish(db: AsyncSession, topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """Record a domain event and a delivery job for each subscriber, in the caller's transaction."""
    event_id = new_id()
    row = {"id": event_id, "topic": topic, "payload": payload, "created_at": clock.utcnow()}
    await db.execute(insert(cast(Table, OutboxEvent.__table__)), [row])
    await deliver_to_subscribers(db, event_id, topic, payload)
    return OutboxEvent(**row)


async def deliver_to_subscribers(db: AsyncSession, event_id: int, topic: str, payload: dict[str, Any]) -> None:
    """The delivery jobs of an event already written (by `publish`, or by a caller's own SQL)."""
    for name in SUBSCRIBERS.get(topic, []):
        await enqueue(db, name, {"event_id": str(event_id), "topic": topic, **payload}, event_id=event_id)


def backoff(spec: TaskSpec, attempts: int) -> timedelta:
    # Exponential with full jitter, capped at an hour, so retries of a failing dependency spread out.
    ceiling = min(3600.0, spec.backoff_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(  # noqa: S311 - jitter, not a secret
        spec.backoff_seconds, max(spec.backoff_seconds, ceiling)))


def _claimable(now: datetime, statuses: tuple[str, ...]) -> Any:
    # Due queued rows, plus rows whose lease ran out (a worker or relay crashed mid-way).
    return or_(
        (Job.status == QUEUED) & (Job.run_at <= now),
        Job.status.in_(statuses) & (Job.locked_until < now),
    )


async def _lease(database: Database, status: str, limit: int, lease: timedelta, job_id: int | None = None) -> list[Job]:
    """Move claimable jobs to `status` under a lease; a crashed holder's lease simply runs out."""
    now = clock.utcnow()
    if job_id is None:
        condition = _claimable(now, (DISPATCHED, RUNNING))
        # Look before taking the write lock: an idle poll must not queue behind real writers.
        async with database.transaction(write=False) as db:
            if await db.scalar(select(Job.id).where(condition).limit(1)) is None:
                return []
    else:
        condition = (Job.id == job_id) & (_claimable(now, (DISPATCHED, RUNNING)) | (Job.status == DISPATCHED))
    async with database.transaction() as db:
        query = select(Job).where(condition).order_by(Job.run_at).limit(limit)
        if not database.is_sqlite:  # SQLite's BEGIN IMMEDIATE already serialises claimers
            query = query.with_for_update(skip_locked=True)
        jobs = list((await db.scalars(query)).all())
        for job in jobs:
            job.status = status
            if status == RUNNING:
                job.attempts += 1
                spec = TASKS.get(job.name)
                job.locked_until = now + timedelta(seconds=(spec.timeout_seconds if spec else 300) + 30)
            else:
                job.locked_until = now + lease
        return jobs


async def run_job(database: Database, job: Job) -> bool:
    """Run one leased job and record the outcome. Returns True on success."""
    spec = TASKS.get(job.name)
    error: str | None = None
    if spec is None:
        error = f"no handler registered for {job.name!r}"
    else:
        try:
            await asyncio.wait_for(spec.handler(database, dict(job.payload)), spec.timeout_seconds)
        except Exception as exc:  # a job's failure is data, not a crash of the worker
            error = "".join(traceback.format_exception_only(exc)).strip()[:4000]
            log.warning("job failed", extra={"job": job.name, "job_id": str(job.id), "error": error})
    async with database.transaction() as db:
        row = await db.get(Job, job.id)
        if row is None:
            return error is None
        now = clock.utcnow()
        row.locked_until = None
        if error is None:
            row.status, row.finished_at, row.last_error = DONE, now, None
            JOBS_RUN.labels(job.name, "done").inc()
        elif spec is None or row.attempts >= row.max_attempts:
            row.status, row.finished_at, row.last_error = FAILED, now, error
            JOBS_RUN.labels(job.name, "failed").inc()
        else:
            row.status, row.run_at, row.last_error = QUEUED, now + backoff(spec, row.attempts), error
            JOBS_RUN.labels(job.name, "retry").inc()
    return error is None


class Broker(Protocol):
    async def next_jobs(self, limit: int) -> list[Job]: ...
    async def close(self) -> None: ...


class DatabaseBroker:
    """Embedded: workers lease due rows straight from the jobs table."""

    def __init__(self, database: Database, poll_seconds: float = 1.0) -> None:
        self.database = database
        self.poll_seconds = poll_seconds

    async def next_jobs(self, limit: int) -> list[Job]:
        jobs = await _lease(self.database, RUNNING, limit, timedelta(0))
        if not jobs:
            await asyncio.sleep(self.poll_seconds)
        return jobs

    async def close(self) -> None:
        return None


class RedisBroker:
    """Scale-out: a relay moves due rows onto a Redis stream; workers read it as a group."""

    GROUP = "workers"

    def __init__(self, database: Database, redis_url: str, poll_seconds: float = 1.0,
                 redeliver_after: timedelta = timedelta(minutes=2), stream: str = "shua:jobs") -> None:
        import redis.asyncio as aioredis

        self.stream = stream
        self.database = database
        self.redis = aioredis.from_url(redis_url)
        self.poll_seconds = poll_seconds
        self.redeliver_after = redeliver_after
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{new_id()}"
        self._group_ready = False

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self.redis.xgroup_create(self.stream, self.GROUP, id="0", mkstream=True)
        except Exception as exc:  # BUSYGROUP: another worker made it first
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def relay(self, limit: int = 100) -> int:
        jobs = await _lease(self.database, DISPATCHED, limit, self.redeliver_after)
        for job in jobs:
            await self.redis.xadd(self.stream, {"job_id": str(job.id)}, maxlen=100_000, approximate=True)
        return len(jobs)

    async def next_jobs(self, limit: int) -> list[Job]:
        await self._ensure_group()
        await self.relay()
        reply = await self.redis.xreadgroup(
            self.GROUP, self.consumer, {self.stream: ">"}, count=limit, block=int(self.poll_seconds * 1000)
        )
        jobs: list[Job] = []
        # RESP2 replies (the client's default): [(stream, [(message_id, {field: value})])]
        entries = cast("list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]", reply or [])
        for _stream, messages in entries:
            for message_id, fields in messages:
                # Ack at once: the row's lease, not the stream's pending list, guards redelivery.
                await self.redis.xack(self.stream, self.GROUP, message_id)
                leased = await _lease(self.database, RUNNING, 1, timedelta(0), job_id=int(fields[b"job_id"]))
                jobs.extend(leased)
        return jobs

    async def close(self) -> None:
        await self.redis.aclose()


def make_broker(database: Database, redis_url: str, poll_seconds: float) -> Broker:
    if redis_url:
        return RedisBroker(database, redis_url, poll_seconds)
    return DatabaseBroker(database, poll_seconds)


class Worker:
    def __init__(self, database: Database, broker: Broker, concurrency: int = 4) -> None:
        self.database = database
        self.broker = broker
        self.concurrency = concurrency
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run_once(self) -> int:
        jobs = await self.broker.next_jobs(self.concurrency)
        if jobs:
            await asyncio.gather(*(run_job(self.database, job) for job in jobs))
        return len(jobs)

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database or Redis blinked: keep the worker alive
                log.exception("worker loop error")
                await asyncio.sleep(1)
        await self.broker.close()


async def drain(database: Database, *, max_rounds: int = 100) -> int:
    """Run every due job now, in this process (tests, `shua jobs run`)."""
    total = 0
    for _ in range(max_rounds):
        jobs = await _lease(database, RUNNING, 50, timedelta(0))
        if not jobs:
            break
        for job in jobs:
            await run_job(database, job)
        total += len(jobs)
    return total


async def queue_stats(db: AsyncSession) -> dict[str, int]:
    rows = await db.execute(select(Job.status, func.count()).group_by(Job.status))
    return {status: count for status, count in rows.all()}


async def failed_jobs(db: AsyncSession, *, limit: int = 100) -> list[Job]:
    query = select(Job).where(Job.status == FAILED).order_by(Job.finished_at.desc()).limit(limit)
    return list((await db.scalars(query)).all())


async def retry_job(db: AsyncSession, *, job_id: int) -> Job:
    """Give a failed job a fresh set of attempts."""
    job = await db.get(Job, job_id)
    if job is None or job.status != FAILED:
        raise NotFound("No failed job with that id", job_id=str(job_id))
    job.status, job.attempts, job.run_at, job.finished_at = QUEUED, 0, clock.utcnow(), None
    return job


async def prune_finished(db: AsyncSession, *, older_than: timedelta = timedelta(days=7)) -> int:
    cutoff = clock.utcnow() - older_than
    result = await db.execute(
        delete(Job).where(Job.status == DONE, Job.finished_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
