"""The outbox and job runner: same-transaction enqueue, retries with backoff, failures kept
visible and retryable, crashed workers recovered by lease expiry, Redis fan-out to processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import secrets

import pytest
from sqlalchemy import func, select

from shua.core import clock, jobs
from shua.core.db import Database
from tests.core import jobs_fixtures
from tests.helpers import PASSWORD, Browser, assert_problem

REDIS_URL = os.environ.get("SHUA_TEST_REDIS_URL", "")


async def _runs(database: Database) -> int:
    async with database.transaction(write=False) as db:
        query = select(func.count()).select_from(jobs.OutboxEvent).where(jobs.OutboxEvent.topic == "test.ran")
        count = await db.scalar(query)
    return int(count or 0)


async def _job(database: Database, job_id: int) -> jobs.Job:
    async with database.transaction(write=False) as db:
        job = await db.get(jobs.Job, job_id)
    assert job is not None
    return job


class TestOutbox:
    async def test_rolled_back_change_sends_nothing(self, database: Database) -> None:
        with pytest.raises(RuntimeError):
            async with database.transaction() as db:
                await jobs.publish(db, "test.happened", {"key": "x"})
                raise RuntimeError("the change failed")
        async with database.transaction(write=False) as db:
            assert await jobs.queue_stats(db) == {}
        assert await jobs.drain(database) == 0

    async def test_event_fans_out_to_subscribers(self, database: Database) -> None:
        async with database.transaction() as db:
            event = await jobs.publish(db, "test.happened", {"key": "a"})
        assert await jobs.drain(database) == 1
        assert await _runs(database) == 1
        async with database.transaction(write=False) as db:
            job = await db.scalar(select(jobs.Job).where(jobs.Job.event_id == event.id))
        assert job is not None and job.status == jobs.DONE
        assert job.payload["event_id"] == str(event.id)

    async def test_unknown_task_refused_at_enqueue(self, database: Database) -> None:
        with pytest.raises(LookupError):
            async with database.transaction() as db:
                await jobs.enqueue(db, "no.such_task", {})


class TestRetries:
    async def test_failure_retries_with_backoff_then_succeeds(self, database: Database) -> None:
        jobs_fixtures.FAIL_TIMES["flaky"] = 1
        async with database.transaction() as db:
            job = await jobs.enqueue(db, "test.record", {"key": "flaky"})
        await jobs.drain(database)
        row = await _job(database, job.id)
        assert (row.status, row.attempts) == (jobs.QUEUED, 1)
        assert "planned failure" in (row.last_error or "")
        assert row.run_at > clock.utcnow()  # backed off, not retried in a hot loop
        assert await jobs.drain(database) == 0
        clock.travel(3600)
        await jobs.drain(database)
        row = await _job(database, job.id)
        assert (row.status, row.attempts, row.last_error) == (jobs.DONE, 2, None)
        assert await _runs(database) == 1

    async def test_exhausted_job_is_visible_and_retryable(self, database: Database, client) -> None:  # type: ignore[no-untyped-def]
        async with database.transaction() as db:
            job = await jobs.enqueue(db, "test.always_fails", {})
        for _ in range(3):
            await jobs.drain(database)
            clock.travel(3600)
        row = await _job(database, job.id)
        assert (row.status, row.attempts) == (jobs.FAILED, 2)
        assert "always fails" in (row.last_error or "")

        from shua.accounts import service

        async with database.transaction() as db:
            await service.ensure_admin(db, username="ops", password=PASSWORD)
        browser = Browser(client)
        assert (await browser.login("ops")).status_code == 200
        listed = (await client.get("/api/v1/admin/jobs/failed")).json()
        assert [j["id"] for j in listed] == [str(job.id)]
        retried = await browser.post(f"/api/v1/admin/jobs/{job.id}/retry")
        assert retried.json()["status"] == jobs.QUEUED and retried.json()["attempts"] == 0
        assert_problem(await browser.post(f"/api/v1/admin/jobs/{job.id}/retry"), 404, "not_found")

    async def test_backoff_grows_and_is_capped(self) -> None:
        spec = jobs.TASKS["test.record"]
        assert all(jobs.backoff(spec, 1).total_seconds() == spec.backoff_seconds for _ in range(5))
        assert max(jobs.backoff(spec, 30).total_seconds() for _ in range(50)) <= 3600


class TestCrashRecovery:
    async def test_job_of_a_crashed_worker_runs_again(self, database: Database) -> None:
        async with database.transaction() as db:
            job = await jobs.enqueue(db, "test.record", {"key": "crash"})
        leased = await jobs._lease(database, jobs.RUNNING, 10, jobs.timedelta(0))
        assert [j.id for j in leased] == [job.id]
        # The worker that leased it dies here. Until the lease runs out nobody else takes it ...
        assert await jobs.drain(database) == 0
        clock.travel(jobs.TASKS["test.record"].timeout_seconds + 31)
        # ... then another worker does, and the attempt count shows both tries.
        assert await jobs.drain(database) == 1
        row = await _job(database, job.id)
        assert (row.status, row.attempts) == (jobs.DONE, 2)


class TestDatabaseWorker:
    async def test_worker_loop_runs_due_jobs(self, database: Database) -> None:
        async with database.transaction() as db:
            for i in range(5):
                await jobs.enqueue(db, "test.record", {"key": f"w{i}"})
        worker = jobs.Worker(database, jobs.DatabaseBroker(database, poll_seconds=0.01), concurrency=2)
        for _ in range(5):
            await worker.run_once()
        assert await _runs(database) == 5


def _redis_worker(url: str, redis_url: str, stream: str, rounds: int) -> None:
    import tests.core.jobs_fixtures  # noqa: F401  (registers the handlers in this process)

    async def main() -> None:
        database = Database(url)
        broker = jobs.RedisBroker(database, redis_url, poll_seconds=0.2, stream=stream)
        worker = jobs.Worker(database, broker, concurrency=4)
        for _ in range(rounds):
            await worker.run_once()
        await broker.close()
        await database.dispose()

    asyncio.run(main())


@pytest.mark.skipif(not REDIS_URL, reason="SHUA_TEST_REDIS_URL not set (CI sets it)")
class TestRedisBroker:
    async def test_lost_message_is_redelivered_after_lease(self, database: Database) -> None:
        stream = f"shua:test:{secrets.token_hex(4)}"
        broker = jobs.RedisBroker(database, REDIS_URL, poll_seconds=0.05, stream=stream)
        try:
            async with database.transaction() as db:
                job = await jobs.enqueue(db, "test.record", {"key": "lost"})
            assert await broker.relay() == 1
            await broker.redis.delete(stream)  # the message is lost (Redis restarted without persistence)
            broker._group_ready = False
            assert await broker.relay() == 0  # still under lease: not sent twice
            clock.travel(broker.redeliver_after.total_seconds() + 1)
            worker = jobs.Worker(database, broker)
            await worker.run_once()
            assert (await _job(database, job.id)).status == jobs.DONE
        finally:
            await broker.redis.delete(stream)
            await broker.close()

    @pytest.mark.slow
    async def test_worker_processes_share_the_queue(self, database: Database, database_url: str) -> None:
        stream = f"shua:test:{secrets.token_hex(4)}"
        async with database.transaction() as db:
            for i in range(40):
                await jobs.enqueue(db, "test.record", {"key": f"p{i}"})
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_redis_worker, args=(database_url, REDIS_URL, stream, 15)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            await asyncio.to_thread(p.join, 120)
            assert p.exitcode == 0
        async with database.transaction(write=False) as db:
            stats = await jobs.queue_stats(db)
        assert stats == {jobs.DONE: 40}
        assert await _runs(database) == 40  # each job ran exactly once
        import redis.asyncio as aioredis

        r = aioredis.from_url(REDIS_URL)
        await r.delete(stream)
        await r.aclose()
