"""The demo's viewing history, so its For You is personalised from the first swipe: forty demo
viewers with a taste or two (food, pets, fitness, travel …) watch, finish and like the creators of
their taste and skip a few others, through the same event ingestion and likes as a real client;
then the recommender is trained on that log. The `demo` account gets a taste too (fitness and
games, from creators it does not follow: followed creators are capped at the follow share).
Idempotent: once any viewing event exists, nothing is added."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from shua.accounts import service as accounts
from shua.accounts.models import User
from shua.core import clock
from shua.demo import DEMO_PASSWORD
from shua.feed import events, interests, learning
from shua.feed.events import EventIn, Limits
from shua.feed.models import FeedEvent
from shua.media import videos
from shua.runtime import Runtime
from shua.social import engagement

TASTES = {
    "food": ("chef_lin", "lisi"), "pets": ("maomao",), "fitness": ("wangwu",), "fashion": ("xiaomei",),
    "travel": ("travel_amy", "zhangsan"), "dance": ("xiaoyu",), "family": ("baby_mama",), "farm": ("laoli",),
    "cars": ("auto_chen",), "games": ("gamer_k",),
}
TASTE_INTEREST = {"farm": "countryside"}  # a taste's name in the interests catalogue, where it differs
DEMO_TASTES = ("fitness", "games")  # creators the demo account does not follow: For You, not 关注
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("小明", "静", "伟", "芳", "娜", "强", "磊", "洋", "艳", "杰",
         "婷", "浩", "雪", "鹏", "琳", "晨", "宇", "欣", "涛", "颖")
VIEWERS = 40


def _name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]


async def seed_viewing(rt: Runtime, *, progress: Callable[[str], None] | None = None) -> int:
    """Viewing events and likes for the demo; returns how many events were recorded."""
    say = progress or (lambda _: None)
    rng = random.Random(2026)  # noqa: S311 - a reproducible demo, not a secret
    async with rt.database.transaction() as db:
        if await db.scalar(select(func.count()).select_from(FeedEvent)):
            return 0
        people = {u.handle: u for u in (await db.scalars(select(User))).all()}
        existing = {h for h in people if h.startswith("viewer")}
        for i in range(VIEWERS):
            handle = f"viewer{i:02d}"
            if handle not in existing:
                people[handle] = await accounts.signup(db, username=handle, password=DEMO_PASSWORD, nickname=_name(i))
    async with rt.database.transaction(write=False) as db:
        published = await videos.list_published(db, viewer_id=None, limit=1000)
    by_creator: dict[int, list[int]] = {}
    durations = {v.id: v.duration_ms or 3000 for v in published}
    for video in published:
        by_creator.setdefault(video.owner_id, []).append(video.id)
    tastes = list(TASTES)
    viewers = [(people[f"viewer{i:02d}"], rng.sample(tastes, 1 + i % 2)) for i in range(VIEWERS)]
    if "demo" in people:
        viewers.append((people["demo"], list(DEMO_TASTES)))
    recorded = 0
    say(f"{len(viewers)} viewers watching")
    for viewer, chosen in viewers:
        # Demo viewers watch most of their taste; the demo account only a little of it, so its
        # For You still has plenty of that taste left to show.
        share = 0.2 if viewer.handle == "demo" else 0.8
        liked_ids = {vid for taste in chosen for handle in TASTES[taste] if handle in people
                     for vid in by_creator.get(people[handle].id, [])}
        others = [v.id for v in published if v.id not in liked_ids and v.owner_id != viewer.id]
        batch: list[EventIn] = []
        likes = []

        def at() -> datetime:  # the last two days, so the log has a history and an order
            return clock.utcnow() - timedelta(seconds=rng.randrange(48 * 3600))

        taste_videos = sorted(liked_ids)
        # Every taste shows in the history (at least two of each creator's), the rest by chance.
        sure = {vid for handle in {h for taste in chosen for h in TASTES[taste]} if handle in people
                for vid in sorted(by_creator.get(people[handle].id, []))[:2]}
        for vid in taste_videos:
            if vid in sure or rng.random() < share:
                when = at()
                batch += [EventIn(event_id=uuid.uuid4(), video_id=vid, kind="impression", at=when),
                          EventIn(event_id=uuid.uuid4(), video_id=vid, kind="watch", at=when,
                                  watch_ms=durations[vid], replays=0),
                          EventIn(event_id=uuid.uuid4(), video_id=vid, kind="complete", at=when)]
                if vid in sure or rng.random() < 0.4:
                    likes.append(vid)
        for vid in rng.sample(others, min(4, len(others))):
            when = at()
            batch += [EventIn(event_id=uuid.uuid4(), video_id=vid, kind="impression", at=when),
                      EventIn(event_id=uuid.uuid4(), video_id=vid, kind="watch", at=when, watch_ms=800)]
        async with rt.database.transaction() as db:
            for start in range(0, len(batch), Limits().max_batch):
                result = await events.ingest(db, user_id=viewer.id, events=batch[start:start + Limits().max_batch],
                                             limits=Limits())
                recorded += result.accepted
            for vid in likes:
                video = await videos.get_video(db, viewer_id=viewer.id, video_id=vid)
                await engagement.like(db, user_id=viewer.id, video=video)
            # They picked their tastes when they started (the 选择兴趣 page), so it is not offered again.
            await interests.choose(db, viewer.id, [key for key in (TASTE_INTEREST.get(t, t) for t in chosen)
                                                   if key in interests.CATALOGUE])
    say("training the recommender")
    await learning.retrain(rt.database, rt.settings.var_dir, days=30, dim=16)
    return recorded
