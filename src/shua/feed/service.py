"""Serving feed pages: For You (推荐) and Following (关注). The Friends tab is the social context's.

For You, per page: gather candidates from named sources, keep only what this viewer may watch and
has not been served, score them (the learned ranker when a model is loaded, else a documented
heuristic), and let the mixer place them — follow share, creator and topic spread. Sources:

- `following`: the newest public videos of creators the viewer follows;
- `personal`: nearest items to the viewer's learned embedding (vector search);
- `similar`: nearest items to what the viewer just liked or watched through (online freshness:
  a like changes the next page before any retrain);
- `trending`: recent videos by time-decayed engagement, for everyone (cold start included);
- `fresh`: the newest videos, so new uploads get their first views (the traffic pool's stage 0).

"Not interested" and skips feed back the same way: the creator and topic of a video marked not
interested are excluded for a while, right away.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.accounts.models import User
from shua.core import clock
from shua.core.ids import id_timestamp_ms, parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.feed.mixer import Candidate, MixState, mix
from shua.feed.seen import SeenCache
from shua.feed.vectors import ModelHolder
from shua.media import videos
from shua.media.models import Video
from shua.social import engagement, graph

PAGE_SIZE = 8
TRENDING_POOL = 600  # newest public videos considered for trending
TRENDING_TTL_SECONDS = 30.0
SOURCE_WEIGHTS = {"following": 1.0, "personal": 1.1, "similar": 1.2, "trending": 0.9, "fresh": 0.6}


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


@dataclass
class Services:
    """The process-wide parts of serving, kept on the runtime."""

    model: ModelHolder
    seen: SeenCache
    trending: tuple[float, list[tuple[int, int, float, str | None]]] = (0.0, [])

    async def close(self) -> None:
        await self.seen.close()


def _topic(video: Video) -> str | None:
    return video.hashtags[0].lower() if video.hashtags else None


def _age_hours(video_id: int) -> float:
    return max(0.0, (time.time() * 1000 - id_timestamp_ms(video_id)) / 3_600_000)


def trending_score(*, likes: int, comments: int, shares: int, favourites: int, age_hours: float) -> float:
    """Engagement per hour of age, gravity 1.5 (Hacker-News style): recent and liked rises."""
    engagement_points = 1 + likes + 2 * comments + 3 * shares + 2 * favourites
    return float(math.log1p(engagement_points) / (age_hours + 2.0) ** 1.5)


async def _trending(db: AsyncSession, services: Services) -> list[tuple[int, int, float, str | None]]:
    """(video id, owner id, score, topic), best first; computed once per TTL per process."""
    computed_at, cached = services.trending
    if cached and time.monotonic() - computed_at < TRENDING_TTL_SECONDS:
        return cached
    recent = await videos.list_published(db, viewer_id=None, limit=TRENDING_POOL)
    stats = await engagement.stats_of_many(db, [v.id for v in recent])
    scored = []
    for video in recent:
        s = stats.get(video.id, engagement.NO_STATS)
        scored.append((video.id, video.owner_id, trending_score(
            likes=s.likes, comments=s.comments, shares=s.shares, favourites=s.favourites,
            age_hours=_age_hours(video.id)), _topic(video)))
    scored.sort(key=lambda row: row[2], reverse=True)
    services.trending = (time.monotonic(), scored)
    return scored


async def _signals(db: AsyncSession, viewer_id: int | None, seen: set[int]) -> Signals:
    signals = Signals(seen=seen)
    if viewer_id is not None:
        signals.liked = await engagement.recent_likes(db, user_id=viewer_id, limit=20)
    return signals


def _from_vectors(services: Services, hits: list[tuple[int, float]], source: str) -> dict[int, tuple[str, float]]:
    return {vid: (source, score) for vid, score in hits}


async def for_you(db: AsyncSession, services: Services, *, viewer_id: int | None, cursor: str | None,
                  follow_share: float, limit: int = PAGE_SIZE) -> FeedPage:
    """One page of For You for the viewer (or an anonymous session carried in the cursor)."""
    state = decode_cursor(cursor) or {}
    sid = state.get("s") if isinstance(state.get("s"), str) and len(str(state.get("s"))) <= 32 else None
    sid = sid or secrets.token_hex(8)
    # Served in this session (the cursor's): never again in it.
    session_key = f"{viewer_id or 'anon'}:{sid}"
    mix_state = MixState.from_json(state.get("m"))
    served = await services.seen.get(session_key)
    seen = set(served)
    signals = await _signals(db, viewer_id, seen)

    pool: dict[int, tuple[str, float]] = {}
    following = await graph.following_ids(db, viewer_id) if viewer_id is not None else []
    in_network: set[int] = set()
    if following:  # public videos only: friends-only ones belong to the Friends and Following tabs
        for video in await videos.list_published(db, viewer_id=viewer_id, owner_ids=following, limit=60):
            pool[video.id] = ("following", 1.0 / (1.0 + _age_hours(video.id) / 24))
            in_network.add(video.id)
    user_vector = services.model.user_vector(viewer_id)
    if user_vector is not None:
        for vid, item in _from_vectors(services, services.model.nearest(user_vector, 200), "personal").items():
            pool.setdefault(vid, item)
    liked_vectors = services.model.item_vectors(signals.liked[:5])
    for vector in liked_vectors.values():
        for vid, item in _from_vectors(services, services.model.nearest(vector, 30), "similar").items():
            pool.setdefault(vid, item)
    trending = await _trending(db, services)
    top = trending[0][2] if trending else 1.0
    for vid, _, score, _ in trending[:300]:
        pool.setdefault(vid, ("trending", score / top if top else 0.0))
    for video in await videos.list_published(db, viewer_id=viewer_id, limit=40):
        pool.setdefault(video.id, ("fresh", 0.5))

    visible = await videos.visible_by_id(db, viewer_id=viewer_id, video_ids=[v for v in pool if v not in served])
    candidates = []
    for vid, (source, base) in pool.items():
        shown = visible.get(vid)
        if shown is None or vid in seen or shown.owner_id == viewer_id or shown.purpose != "post":
            continue
        if shown.owner_id in signals.not_interested_owners or _topic(shown) in signals.not_interested_topics:
            continue
        candidates.append(Candidate(video_id=vid, owner_id=shown.owner_id, score=base * SOURCE_WEIGHTS[source],
                                    source=source, in_network=vid in in_network, topic=_topic(shown)))
    if len(candidates) < limit:
        # A small catalogue watched through: offer what was watched longest ago (never what this
        # session already showed) rather than an empty feed.
        again = [vid for vid in pool if vid in seen and vid not in served and vid in visible]
        for vid in again:
            video = visible[vid]
            if video.owner_id != viewer_id and video.purpose == "post":
                candidates.append(Candidate(video_id=vid, owner_id=video.owner_id, score=-1.0, source="again",
                                            in_network=vid in in_network, topic=_topic(video)))
    candidates.sort(key=lambda c: c.score, reverse=True)
    page = mix(candidates, size=limit, follow_share=follow_share, state=mix_state)
    await services.seen.add(session_key, [c.video_id for c in page])
    creators = await accounts.users_by_id(db, ids=[c.owner_id for c in page])
    items = [(visible[c.video_id], creators[c.owner_id], c.source) for c in page if c.owner_id in creators]
    more = len([c for c in candidates if c.source != "again"]) > len(page)
    next_cursor = encode_cursor({"s": sid, "m": mix_state.to_json(), "p": int(state.get("p", 0) or 0) + 1}) \
        if more else None
    return FeedPage(items=items, next_cursor=next_cursor, request_id=f"{sid}.{int(clock.utcnow().timestamp())}")


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
        found = Services(model=ModelHolder(var_dir / "feed" / "model"), seen=SeenCache(redis_url))
        extras["feed"] = found
    return found
