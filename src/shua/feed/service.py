"""Serving feed pages: For You (推荐) and Following (关注). The Friends tab is the social context's.

For You, per page: gather candidates from named sources, keep only what this viewer may watch and
has not been served, score them (the learned ranker when a model is loaded, else a documented
heuristic), and let the mixer place them — follow share, creator and topic spread. Sources:

- `following`: the newest public videos of creators the viewer follows;
- `personal`: nearest items to the viewer's learned embedding (vector search);
- `similar`: nearest items to what the viewer just liked or watched through (online freshness:
  a like changes the next page before any retrain);
- `trending`: recent videos by time-decayed engagement, for everyone (cold start included);
- `fresh`: the newest videos, so new uploads get their first views (the traffic pool's stage 0);
- `category`: trending videos of the topics (hashtags, feed.interests categories) of what the
  viewer just liked or watched through; with no ranker those topics and creators also add to
  the score (`Signals.taste_of`);
- `interest`: for a viewer still new (cold start), trending videos of the topics they picked;
  those are also lifted in the ranking, less with every view, until the viewer's own signals
  lead (feed.interests).

"Not interested" and skips feed back the same way: the creator and topic of a video marked not
interested are excluded for a while, right away.
"""

from __future__ import annotations

import math
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.accounts.models import User
from shua.core import clock
from shua.core.ids import id_timestamp_ms, parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.feed import events, experiments, features, interests, pools, ranking
from shua.feed.learning import categories_of, model_folder
from shua.feed.mixer import Candidate, MixState, mix
from shua.feed.models import COMPLETE, NOT_INTERESTED, PURCHASE, SEARCH_CLICK
from shua.feed.seen import SeenCache
from shua.feed.vectors import ModelHolder
from shua.media import videos
from shua.media.models import Video
from shua.social import engagement, graph

PAGE_SIZE = 8
TRENDING_POOL = 600  # newest public videos considered for trending
TRENDING_TTL_SECONDS = 30.0
PERSONAL_K, SIMILAR_K, POOL_K, POOL_SHARED = 200, 30, 5, 40
SIMILAR_ANCHORS = 4  # the latest likes and watched-through videos that each bring their neighbours
SHARED_TTL_SECONDS = 10.0
RECENT_EVENTS = 50
SEEN_DAYS = 30
INTEREST_K = 120  # cold-start candidates from the chosen topics
# How many of each source's candidates are read and ranked per page (the ranker was trained
# and evaluated offline on 100 embedding candidates plus trending, feed/training.py).
SOURCE_QUOTA = {"following": 30, "personal": 100, "similar": 40, "interest": 40, "category": 40, "trending": 50,
                "pool": 20, "fresh": 20}
AGAIN_K = 100  # already-watched videos offered again when a small catalogue runs out
COLD_START_VIEWS = 40  # the chosen topics' lift is gone after this many videos seen
COLD_TOPIC_CAP = 2  # of one topic per page, for a viewer the feed knows nothing about
TASTE_WINDOW = 20  # the latest positives whose topics and creators make the viewer's taste now


@dataclass
class FeedPage:
    items: list[tuple[Video, User, str]]  # video, creator, the source that brought it
    next_cursor: str | None
    request_id: str = ""


@dataclass
class Signals:
    """What the viewer did just now that should change the next page (online freshness)."""

    liked: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    not_interested_owners: set[int] = field(default_factory=set)
    not_interested_topics: set[str] = field(default_factory=set)
    seen: set[int] = field(default_factory=set)
    interests: frozenset[str] = frozenset()  # the topics picked at the start (feed.interests)
    positive_videos: list[Video] = field(default_factory=list)  # the latest liked / watched through
    taste_topics: dict[str, float] = field(default_factory=dict)  # share of those per topic
    taste_creators: dict[int, float] = field(default_factory=dict)  # share of those per creator

    def taste_of(self, video: Video) -> float:
        """How much the video is like what the viewer just enjoyed: its best topic's share plus
        its creator's, among the latest positives (0 to 2). Online: no retrain needed."""
        best_topic = max((self.taste_topics.get(t, 0.0) for t in _topics(video)), default=0.0)
        return best_topic + self.taste_creators.get(video.owner_id, 0.0)

    def interest_lift(self) -> float:
        """How much the chosen topics still count: 1 for a new viewer, 0 after a few dozen views."""
        return max(0.0, 1.0 - len(self.seen) / COLD_START_VIEWS) if self.interests else 0.0


@dataclass(frozen=True)
class Trending:
    video_id: int
    owner_id: int
    score: float
    topics: frozenset[str]  # catalogue topics (feed.interests) and "#first-hashtag": see _topics


@dataclass
class Services:
    """The process-wide parts of serving, kept on the runtime. The lists every viewer shares
    (trending, the newest videos, the traffic pools, running experiments) are computed once per
    few seconds per process, not per request; each viewer's own filters apply afterwards."""

    model: ModelHolder
    seen: SeenCache
    trending: tuple[float, list[Trending]] = (0.0, [])
    shared: dict[str, tuple[float, Any]] = field(default_factory=dict)

    async def cached(self, key: str, ttl: float, compute: Any) -> Any:
        at, value = self.shared.get(key, (0.0, None))
        if value is None or time.monotonic() - at >= ttl:
            value = await compute()
            self.shared[key] = (time.monotonic(), value)
        return value

    def forget(self) -> None:
        """Drop the shared lists, so the next request computes them afresh."""
        self.trending = (0.0, [])
        self.shared.clear()

    async def close(self) -> None:
        await self.seen.close()


def _topic(video: Video) -> str | None:
    return video.hashtags[0].lower() if video.hashtags else None


def _topics(video: Video) -> set[str]:
    """The catalogue topics (feed.interests) and the first hashtag, as "#tag"."""
    found: set[str] = set(interests.topics_of(video.hashtags))
    if video.hashtags:
        found.add(f"#{video.hashtags[0].lower()}")
    return found


def _age_hours(video_id: int) -> float:
    return max(0.0, (time.time() * 1000 - id_timestamp_ms(video_id)) / 3_600_000)


def trending_score(*, likes: int, comments: int, shares: int, favourites: int, age_hours: float) -> float:
    """Engagement per hour of age, gravity 1.5 (Hacker-News style): recent and liked rises."""
    engagement_points = 1 + likes + 2 * comments + 3 * shares + 2 * favourites
    return float(math.log1p(engagement_points) / (age_hours + 2.0) ** 1.5)


async def _trending(db: AsyncSession, services: Services) -> list[Trending]:
    """Recent public videos, best first; computed once per TTL per process."""
    computed_at, cached = services.trending
    if cached and time.monotonic() - computed_at < TRENDING_TTL_SECONDS:
        return cached
    recent = await videos.list_published(db, viewer_id=None, limit=TRENDING_POOL)
    stats = await engagement.stats_of_many(db, [v.id for v in recent])
    scored = []
    for video in recent:
        s = stats.get(video.id, engagement.NO_STATS)
        scored.append(Trending(video.id, video.owner_id, trending_score(
            likes=s.likes, comments=s.comments, shares=s.shares, favourites=s.favourites,
            age_hours=_age_hours(video.id)), frozenset(_topics(video))))
    scored.sort(key=lambda row: row.score, reverse=True)
    services.trending = (time.monotonic(), scored)
    return scored


async def _signals(db: AsyncSession, viewer_id: int | None, seen: set[int]) -> Signals:
    """The viewer's last events: likes and watched-through videos pull similar ones in, and
    "not interested" pushes that creator and topic out, from the very next page."""
    signals = Signals(seen=seen)
    if viewer_id is None:
        return signals
    recent = await events.recent_events(db, viewer_id, limit=RECENT_EVENTS)
    refused = [e.video_id for e in recent if e.kind == NOT_INTERESTED]
    for event in recent:
        # A search result opened says as much as a like (the viewer went looking for it), and so
        # does buying from a video's cart.
        if event.kind in ("like", SEARCH_CLICK, PURCHASE) and event.video_id not in signals.liked:
            signals.liked.append(event.video_id)
        elif event.kind == COMPLETE and event.video_id not in signals.completed:
            signals.completed.append(event.video_id)
    positives = (signals.liked + signals.completed)[:TASTE_WINDOW]
    found = await videos.by_id(db, video_ids=list({*refused, *positives}))
    for vid in refused:
        if vid in found:
            signals.not_interested_owners.add(found[vid].owner_id)
            if _topic(found[vid]):
                signals.not_interested_topics.add(_topic(found[vid]))  # type: ignore[arg-type]
    signals.positive_videos = [found[vid] for vid in positives if vid in found]
    for video in signals.positive_videos:  # the viewer's taste now: topics and creators, by share
        for topic in _topics(video):
            signals.taste_topics[topic] = signals.taste_topics.get(topic, 0.0) + 1 / len(signals.positive_videos)
        signals.taste_creators[video.owner_id] = (signals.taste_creators.get(video.owner_id, 0.0)
                                                  + 1 / len(signals.positive_videos))
    signals.seen |= await events.seen_video_ids(db, viewer_id, since=clock.utcnow() - timedelta(days=SEEN_DAYS))
    signals.seen |= set(refused)
    if len(signals.seen) < COLD_START_VIEWS:  # past that, the picked topics no longer count
        signals.interests = frozenset(await interests.chosen(db, viewer_id) or ())
    return signals


def _similar_query(vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """An item-to-item query: the item's direction (its stored vector without the slack
    coordinate), unit length, with 0 for the slack — so neighbours are similar, popular ones first."""
    direction = features.directions(vector.reshape(1, -1))[0]
    norm = float(np.linalg.norm(direction))
    return np.append(direction / norm if norm else direction, 0.0).astype(np.float32)


async def _gather(db: AsyncSession, services: Services, *, viewer_id: int | None, signals: Signals,
                  following: list[int]) -> tuple[dict[int, tuple[str, float]], set[int]]:
    """Candidate ids with (source, score 0..1), and which of them are in-network."""
    pool: dict[int, tuple[str, float]] = {}
    in_network: set[int] = set()
    if following:  # public videos only: friends-only ones belong to the Friends and Following tabs
        for video in await videos.list_published(db, viewer_id=viewer_id, owner_ids=following, limit=30):
            pool[video.id] = ("following", 1.0 / (1.0 + _age_hours(video.id) / 24))
            in_network.add(video.id)
    model = services.model
    user_vector = model.user_vector(viewer_id)
    anchors = model.item_vectors((signals.liked + signals.completed)[:SIMILAR_ANCHORS])
    # One search for the viewer's taste and every "more like this": one pass over the index.
    queries = ([user_vector] if user_vector is not None else []) + [_similar_query(v) for v in anchors.values()]
    found = model.nearest_many(queries, PERSONAL_K)
    if user_vector is not None:
        for vid, score in found.pop(0):
            pool.setdefault(vid, ("personal", max(0.0, score)))
    for anchor, hits in zip(anchors, found, strict=True):
        for vid, score in hits[:SIMILAR_K]:
            if vid != anchor:
                pool.setdefault(vid, ("similar", max(0.0, score)))
    trending = await _trending(db, services)
    top = (trending[0].score if trending else 1.0) or 1.0
    if signals.interest_lift():
        picked = [row for row in trending if row.topics & signals.interests][:INTEREST_K]
        for row in picked:
            pool.setdefault(row.video_id, ("interest", 0.5 + 0.5 * row.score / top))
    if signals.taste_topics:  # hashtag/category affinity: trending videos of the topics just enjoyed
        for row in [row for row in trending if row.topics & signals.taste_topics.keys()][:INTEREST_K]:
            share = max(signals.taste_topics.get(t, 0.0) for t in row.topics)
            pool.setdefault(row.video_id, ("category", 0.5 * share + 0.5 * row.score / top))
    for row in trending[:150]:
        pool.setdefault(row.video_id, ("trending", row.score / top))
    async def pooled() -> list[list[int]]:  # each stage still under its budget gets exposure
        return [await pools.pool_candidates(db, stage, POOL_SHARED) for stage in range(4)]

    for stage, ids in enumerate(await services.cached("pools", SHARED_TTL_SECONDS, pooled)):
        fresh_ids = [vid for vid in ids if vid not in signals.seen]
        for vid in random.sample(fresh_ids, min(POOL_K, len(fresh_ids))):  # noqa: S311 - rotation
            pool.setdefault(vid, ("pool", 0.6 + 0.1 * stage))

    async def newest() -> list[int]:  # the visibility filter runs per viewer afterwards
        return [v.id for v in await videos.list_published(db, viewer_id=None, limit=40)]

    for vid in await services.cached("fresh", SHARED_TTL_SECONDS, newest):
        pool.setdefault(vid, ("fresh", 0.5))
    return pool, in_network


async def for_you(db: AsyncSession, services: Services, *, viewer_id: int | None, cursor: str | None,
                  follow_share: float, limit: int = PAGE_SIZE) -> FeedPage:
    """One page of For You for the viewer (or an anonymous session carried in the cursor)."""
    state = decode_cursor(cursor) or {}
    sid = state.get("s") if isinstance(state.get("s"), str) and len(str(state.get("s"))) <= 32 else None
    sid = sid or secrets.token_hex(8)
    # Served in this session (the cursor's) never comes again in it; what the viewer was shown
    # in earlier sessions comes from their impression events.
    session_key = f"{viewer_id or 'anon'}:{sid}"
    mix_state = MixState.from_json(state.get("m"))
    served = await services.seen.get(session_key)
    signals = await _signals(db, viewer_id, set(served))
    if viewer_id is not None:  # an experiment may vary the follow share for this viewer's arm
        async def running() -> list[Any]:
            return await experiments.running(db)

        arm = experiments.params_of(await services.cached("experiments", SHARED_TTL_SECONDS, running), viewer_id)
        if isinstance(arm.get("follow_share"), int | float):
            follow_share = float(arm["follow_share"])
    following = await graph.following_ids(db, viewer_id) if viewer_id is not None else []
    pool, in_network = await _gather(db, services, viewer_id=viewer_id, signals=signals, following=following)
    shortlist = _shortlist(pool, exclude=signals.seen)
    visible = await videos.visible_by_id(db, viewer_id=viewer_id, video_ids=shortlist)

    def allowed(video: Video) -> bool:
        return (video.owner_id != viewer_id and video.purpose == "post"
                and video.owner_id not in signals.not_interested_owners
                and _topic(video) not in signals.not_interested_topics)

    items = [ranking.Scored(video=visible[vid], source=pool[vid][0], base=pool[vid][1]) for vid in shortlist
             if vid in visible and allowed(visible[vid])]
    if len(items) < limit:
        # A small catalogue watched through: offer again what was watched (never what this
        # session already showed) rather than an empty feed.
        again = [vid for vid in pool if vid in signals.seen and vid not in served][:AGAIN_K]
        visible.update(await videos.visible_by_id(db, viewer_id=viewer_id, video_ids=again))
        items += [ranking.Scored(video=visible[vid], source="again", base=0.0) for vid in again
                  if vid in visible and allowed(visible[vid])]
    scores = await _score(db, services, viewer_id=viewer_id, signals=signals, items=items, following=following)
    scores = _lift_interests(scores, items, signals)
    candidates = [Candidate(video_id=it.video.id, owner_id=it.video.owner_id, score=score, source=it.source,
                            in_network=it.video.id in in_network, topic=_topic(it.video))
                  for it, score in zip(items, scores, strict=True)]
    candidates.sort(key=lambda c: (c.source != "again", c.score), reverse=True)
    # Nothing known about the viewer yet (no taste, no likes, nothing picked): spread the page
    # over categories, at most two of one, so their first swipes can show what they like.
    cold = (services.model.user_vector(viewer_id) is None and not signals.liked and not signals.completed
            and not signals.interests)
    page = mix(candidates, size=limit, follow_share=follow_share, state=mix_state,
               topic_cap=COLD_TOPIC_CAP if cold else None)
    await services.seen.add(session_key, [c.video_id for c in page])
    creators = await accounts.users_by_id(db, ids=[c.owner_id for c in page])
    rows = [(visible[c.video_id], creators[c.owner_id], c.source) for c in page if c.owner_id in creators]
    more = len([c for c in candidates if c.source != "again"]) > len(page)
    next_cursor = encode_cursor({"s": sid, "m": mix_state.to_json(), "p": int(state.get("p", 0) or 0) + 1}) \
        if more else None
    return FeedPage(items=rows, next_cursor=next_cursor, request_id=f"{sid}.{int(clock.utcnow().timestamp())}")


def _shortlist(pool: dict[int, tuple[str, float]], *, exclude: set[int]) -> list[int]:
    """The candidates worth a database read: unseen, and per source the best few by its own score
    (`SOURCE_QUOTA`), so every source is represented and the page costs a few hundred rows, not
    every id the sources proposed."""
    by_source: dict[str, list[tuple[float, int]]] = {}
    for vid, (source, base) in pool.items():
        if vid not in exclude:
            by_source.setdefault(source, []).append((base, vid))
    kept: list[int] = []
    for source, rows in by_source.items():
        rows.sort(reverse=True)
        kept += [vid for _, vid in rows[:SOURCE_QUOTA.get(source, 20)]]
    return kept


def _lift_interests(scores: list[float], items: list[ranking.Scored], signals: Signals) -> list[float]:
    """A new viewer's picked topics first: on the scores' rank scale (0..1, whichever scorer
    made them), a video of a chosen topic gains the lift, which fades as the viewer watches."""
    lift = signals.interest_lift()
    if not lift or len(scores) < 2:
        return scores
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank = [0.0] * len(scores)
    for position, i in enumerate(order):
        rank[i] = position / (len(scores) - 1)
    return [rank[i] + (lift if interests.topics_of(item.video.hashtags) & signals.interests else 0.0)
            for i, item in enumerate(items)]


async def _score(db: AsyncSession, services: Services, *, viewer_id: int | None, signals: Signals,
                 items: list[ranking.Scored], following: list[int]) -> list[float]:
    ids = [it.video.id for it in items]
    feed_stats = await events.stats_of_many(db, ids)
    stats = await engagement.stats_of_many(db, ids)
    model = services.model.current()
    affinity: dict[int, float] = {}
    if model is not None:
        user_vector = services.model.user_vector(viewer_id)
        if user_vector is not None:
            affinity = {vid: float(vec @ user_vector) for vid, vec in services.model.item_vectors(ids).items()}
        positives = signals.positive_videos[:10]
        recent = list(services.model.item_vectors([v.id for v in positives]).values())
        learned = ranking.learned(
            model, viewer_vector=services.model.user_vector(viewer_id), recent=recent,
            recent_categories=[categories_of(v.hashtags) for v in positives],
            interactions=len(signals.seen), items=items, feed_stats=feed_stats, stats=stats,
            followed=set(following))
        if learned is not None:
            return learned
    taste = {it.video.id: signals.taste_of(it.video) for it in items} if signals.positive_videos else None
    return ranking.heuristic(items, feed_stats, stats, affinity, taste)


async def following_tab(db: AsyncSession, *, viewer_id: int, cursor: str | None, limit: int = PAGE_SIZE) -> FeedPage:
    """关注: the newest videos of creators the viewer follows (friends' friends-only ones too)."""
    state = decode_cursor(cursor) or {}
    before = parse_id(state.get("before")) if "before" in state else None
    following = await graph.following_ids(db, viewer_id)
    if not following:
        return FeedPage(items=[], next_cursor=None)
    friends = await graph.friend_ids(db, viewer_id)
    page = await videos.list_published(db, viewer_id=viewer_id, owner_ids=following, friend_ids=friends or None,
                                       before_id=before, limit=limit)
    creators = await accounts.users_by_id(db, ids=[v.owner_id for v in page])
    items = [(v, creators[v.owner_id], "following") for v in page if v.owner_id in creators]
    more = len(page) == limit
    return FeedPage(items=items, next_cursor=encode_cursor({"before": str(page[-1].id)}) if more else None)


def services_of(extras: dict[str, Any], *, var_dir: Any, redis_url: str) -> Services:
    """The runtime's serving services, made on first use."""
    found = extras.get("feed")
    if not isinstance(found, Services):
        found = Services(model=ModelHolder(model_folder(var_dir)), seen=SeenCache(redis_url))
        extras["feed"] = found
    return found
