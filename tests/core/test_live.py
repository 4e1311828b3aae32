"""The live event hub: per-user fan-out in process and, with Redis, across processes; bounded
queues; events that leave only after their transaction commits."""

from __future__ import annotations

import asyncio
import os
import secrets

import pytest
from sqlalchemy import text

from shua.core.db import Database
from shua.core.live import RESYNC, Event, LiveHub, TooManyConnections

REDIS_URL = os.environ.get("SHUA_TEST_REDIS_URL", "")
NO_REDIS = pytest.mark.skipif(not REDIS_URL, reason="SHUA_TEST_REDIS_URL not set")
BACKENDS = ["memory", pytest.param("redis", marks=NO_REDIS)]


def make_hub(backend: str, prefix: str, **kw: int) -> LiveHub:
    # A fresh channel prefix per test: other test runs may share the Redis server.
    return LiveHub(REDIS_URL if backend == "redis" else "", prefix=prefix, **kw)


@pytest.fixture
def prefix() -> str:
    return f"shua-test:{secrets.token_hex(4)}:"


@pytest.mark.parametrize("backend", BACKENDS)
class TestHub:
    async def test_every_connection_of_the_user_and_only_theirs(self, backend: str, prefix: str) -> None:
        hub = make_hub(backend, prefix)
        async with hub.subscribe(1) as tab, hub.subscribe(1) as phone, hub.subscribe(2) as other:
            await hub.send(1, Event("message", {"n": 1}))
            assert await tab.get(within=5) == Event("message", {"n": 1})
            assert await phone.get(within=5) == Event("message", {"n": 1})
            await hub.send(2, Event("unread", {"total": 3}))  # after user 1's, on its own channel
            assert await other.get(within=5) == Event("unread", {"total": 3})
            assert await tab.get(within=0.2) is None
        assert hub.connections(1) == 0
        await hub.close()

    async def test_a_closed_connection_gets_nothing_more(self, backend: str, prefix: str) -> None:
        hub = make_hub(backend, prefix)
        async with hub.subscribe(7) as first:
            pass
        async with hub.subscribe(7) as second:  # the channel is subscribed again after the last one left
            await hub.send(7, Event("read", {"x": "y"}))
            assert await second.get(within=5) == Event("read", {"x": "y"})
        assert await first.get(within=0.2) is None
        await hub.close()

    async def test_a_slow_client_is_told_to_resync_in_bounded_memory(self, backend: str, prefix: str) -> None:
        hub = make_hub(backend, prefix, queue_size=4)
        async with hub.subscribe(1) as slow:
            for n in range(10):
                await hub.send(1, Event("message", {"n": n}))
            received = []
            while (event := await slow.get(within=1)) is not None:
                received.append(event)
        assert RESYNC in received
        assert len(received) <= 4
        assert received[-1] == Event("message", {"n": 9})  # nothing after the resync is lost
        await hub.close()

    async def test_too_many_connections_of_one_user(self, backend: str, prefix: str) -> None:
        hub = make_hub(backend, prefix, per_user=2)
        async with hub.subscribe(1), hub.subscribe(1):
            with pytest.raises(TooManyConnections):
                async with hub.subscribe(1):
                    pass
            async with hub.subscribe(2):  # others are not affected
                pass
        await hub.close()


class TestAfterCommit:
    async def test_sent_only_once_the_transaction_commits(self, database: Database) -> None:
        hub = LiveHub()
        async with hub.subscribe(1) as events:
            async with database.transaction() as db:
                await db.execute(text("SELECT 1"))
                hub.send_after_commit(db, 1, Event("message", {"n": 1}))
                await hub.flush()
                assert await events.get(within=0.1) is None  # not before the commit
            await hub.flush()
            assert await events.get(within=5) == Event("message", {"n": 1})

    async def test_a_rolled_back_write_pushes_nothing(self, database: Database) -> None:
        hub = LiveHub()
        async with hub.subscribe(1) as events:
            with pytest.raises(RuntimeError):
                async with database.transaction() as db:
                    await db.execute(text("SELECT 1"))
                    hub.send_after_commit(db, 1, Event("message", {"n": 1}))
                    raise RuntimeError("the write failed")
            async with database.transaction() as db:  # the next transaction starts clean
                await db.execute(text("SELECT 1"))
                hub.send_after_commit(db, 1, Event("message", {"n": 2}))
            await hub.flush()
            assert await events.get(within=5) == Event("message", {"n": 2})
            assert await events.get(within=0.1) is None


@NO_REDIS
class TestAcrossProcesses:
    async def test_an_event_sent_in_one_process_reaches_a_page_open_on_another(self, prefix: str) -> None:
        api_1, api_2 = LiveHub(REDIS_URL, prefix=prefix), LiveHub(REDIS_URL, prefix=prefix)
        async with api_2.subscribe(42) as page:
            await api_1.send(42, Event("message", {"text": "你好"}))
            assert await page.get(within=5) == Event("message", {"text": "你好"})
            async with api_1.subscribe(42) as other_page:  # both processes now have a page open
                await api_2.send(42, Event("unread", {"total": 1}))
                assert await other_page.get(within=5) == Event("unread", {"total": 1})
                assert await page.get(within=5) == Event("unread", {"total": 1})
        await api_1.close()
        await api_2.close()

    async def test_concurrent_subscribers_all_confirmed(self, prefix: str) -> None:
        sender, receiver = LiveHub(REDIS_URL, prefix=prefix), LiveHub(REDIS_URL, prefix=prefix)
        subs = [receiver.subscribe(uid) for uid in range(1, 21)]
        await asyncio.gather(*(s.__aenter__() for s in subs))
        for uid in range(1, 21):
            await sender.send(uid, Event("unread", {"uid": uid}))
        for uid, sub in zip(range(1, 21), subs, strict=True):
            assert await sub.get(within=5) == Event("unread", {"uid": uid})
        await asyncio.gather(*(s.__aexit__(None, None, None) for s in subs))
        await sender.close()
        await receiver.close()
