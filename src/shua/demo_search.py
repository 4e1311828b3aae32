"""The demo's search activity, so the search page has a hot list and the demo account a history:
a day of steady searching for the demo's hashtags, more in the last hour for some of them, a
burst of new topics (what makes them rise), and a few searches by the demo account. Idempotent: once any search is
logged, nothing is added."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from shua.accounts import service as accounts
from shua.core import clock
from shua.runtime import Runtime
from shua.search import hot, index, service
from shua.search.models import SearchLog, SearchTerm

RISING = ("初雪", "跨年烟花", "成都美食")  # the burst: nothing yesterday, many people now
DEMO_QUERIES = ("猫咪", "健身", "xiaomao")


async def seed_searches(rt: Runtime) -> int:
    async with rt.database.transaction() as db:
        if await db.scalar(select(func.count()).select_from(SearchLog)):
            return 0
    await index.recount_hashtags(rt.database)  # suggestions and guesses read the hashtag terms
    rng = random.Random(7)  # noqa: S311 - demo data, not secrets
    now = clock.utcnow()
    logged = 0
    async with rt.database.transaction() as db:
        tags = list((await db.scalars(select(SearchTerm.term).where(SearchTerm.videos > 0)
                                      .order_by(SearchTerm.videos.desc()).limit(12))).all())
        steady = [hot.topic_of(t) for t in tags]
        for hours_ago in range(26, 0, -1):  # yesterday: the baseline
            for term in steady:
                for _ in range(rng.randint(1, 4)):
                    await service.log_search(db, user_id=None, query=term, tab="all", results=1,
                                             at=now - timedelta(hours=hours_ago, minutes=rng.randint(0, 59)))
                    logged += 1
        for term in steady[:4]:  # some of yesterday's topics pick up: rising, not new
            for _ in range(rng.randint(12, 30)):
                await service.log_search(db, user_id=None, query=term, tab="all", results=1,
                                         at=now - timedelta(minutes=rng.randint(0, 50)))
                logged += 1
        for rank, term in enumerate(RISING):  # now: the burst
            for _ in range(40 - 10 * rank):
                await service.log_search(db, user_id=None, query=term, tab="all", results=1,
                                         at=now - timedelta(minutes=rng.randint(0, 50)))
                logged += 1
        demo = (await accounts.users_by_handle(db, handles=["demo"])).get("demo")
        if demo is not None:
            for query in DEMO_QUERIES:
                await service.log_search(db, user_id=demo.id, query=query, tab="all", results=1)
                logged += 1
    await hot.refresh(rt.database)
    return logged
