"""Search as a viewer sees it: videos, users and hashtags for a query, ranked, filtered, paged,
and only what the viewer may see.

Ranking blends three things for each of the best-matching documents (at most CANDIDATES):
    text        the engine's relevance × a boost for covering the query: every Chinese bigram,
                Latin word and #tag of the query is a part; a document covering all of them
                gets ALL_PARTS_BOOST on top of the share it covers
    popularity  1 + POPULARITY × ln(1 + likes + shares + favourites), as the document has it (set
                when indexed, moved by engagement events)
    freshness   FRESH_FLOOR + (1 - FRESH_FLOOR) × ½^(age / FRESH_HALF_LIFE_DAYS)
Sorting by likes or by newest re-orders the same matches (newest asks the engine for the newest
matches rather than the most relevant).

Visibility is decided at read time with the social rules of the moment: public videos, plus
friends-only ones of the viewer's friends, minus creators who blocked or were blocked by the
viewer and private accounts the viewer does not follow. The page is then checked once more
against the media context (`visible_by_id`), so a video deleted a second ago is never shown even
before its document is dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from sqlalchemy import BigInteger, Select, and_, bindparam, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock
from shua.core.db import insert_ignore, on_sqlite, one_of
from shua.core.ids import new_id
from shua.media import videos
from shua.media.models import FRIENDS, PUBLIC, Video
from shua.search import analysis, engine
from shua.search.models import HASHTAG, PRODUCT, VIDEO, Hashtag, SearchClick, SearchDoc, SearchHistory, SearchLog
from shua.social import engagement, graph, people

PAGE_SIZE = 20
CANDIDATES = 100  # documents re-ranked per query (five pages); further ones are not worth a swipe
ALL_PARTS_BOOST = 0.5
POPULARITY = 0.15
FRESH_FLOOR, FRESH_HALF_LIFE_DAYS = 0.6, 30.0
HISTORY_KEEP = 20

Tab = Literal["all", "videos", "users", "hashtags", "products"]
Sort = Literal["relevance", "likes", "newest"]
Period = Literal["any", "day", "week", "half_year"]
Length = Literal["any", "short", "medium", "long"]
_PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "half_year": timedelta(days=182)}
_LENGTHS = {"short": (None, 60_000), "medium": (60_000, 300_000), "long": (300_000, None)}


@dataclass(frozen=True)
class Filters:
    sort: Sort = "relevance"
    period: Period = "any"
    length: Length = "any"


@dataclass
class VideoResults:
    videos: list[Video] = field(default_factory=list)
    next_offset: int | None = None


@dataclass(frozen=True)
class HashtagResult:
    tag: str
    videos: int


def clean_query(text: str) -> str:
    """What is logged and shown back: normalised, spaces collapsed, cut to MAX_QUERY_CHARS."""
    return " ".join(analysis.normalise(text[:analysis.MAX_QUERY_CHARS * 4]).split())[:analysis.MAX_QUERY_CHARS]


def parts_of(query: analysis.Analysed) -> list[str]:
    """What "matching every part of the query" means: its Chinese bigrams (or lone characters),
    Latin words and #tags."""
    latin = [w for w in query.words if w.isascii()]
    return list(dict.fromkeys(query.bigrams + latin + query.tags))


def coverage(parts: list[str], hit: engine.Hit) -> float:
    if not parts:
        return 0.0
    if len(parts) == 1 or not hit.text:
        return 1.0  # it matched, so it covers the one part (read without its token text)
    return sum(1 for p in parts if hit.has(p)) / len(parts)


def text_score(relevance: float, covered: float) -> float:
    return max(relevance, 1e-9) * (0.5 + 0.5 * covered) * (1 + ALL_PARTS_BOOST * (covered >= 1.0))


def popularity(count: int) -> float:
    return 1 + POPULARITY * math.log1p(max(count, 0))


def freshness(created_at: datetime, now: datetime) -> float:
    age_days = max((now - created_at).total_seconds(), 0.0) / 86400
    return FRESH_FLOOR + (1 - FRESH_FLOOR) * math.pow(0.5, age_days / FRESH_HALF_LIFE_DAYS)


def score(hit: engine.Hit, parts: list[str], now: datetime) -> float:
    """The blend (see the module's docstring) for one candidate."""
    return (text_score(hit.relevance, coverage(parts, hit)) * popularity(hit.popularity)
            * freshness(hit.created_at, now))


def _visible_rule(*, is_sqlite: bool, signed_in: bool, with_friends: bool) -> Any:
    """Which documents a viewer may see, with the viewer and their friends as parameters
    ("viewer", "friends"; see `_viewer_parameters`)."""
    visible = SearchDoc.visibility == PUBLIC
    viewer = bindparam("viewer", type_=BigInteger) if signed_in else None
    if viewer is not None:
        if with_friends:
            visible = or_(visible, and_(SearchDoc.visibility == FRIENDS,
                                        one_of(SearchDoc.owner_id, "friends", is_sqlite=is_sqlite)))
        visible = or_(visible, SearchDoc.owner_id == viewer)
        visible = and_(visible, SearchDoc.owner_id.not_in(graph.hidden_user_ids(viewer)))
    return and_(visible, SearchDoc.owner_id.not_in(graph.private_account_ids_not_followed(viewer)))


async def _viewer_parameters(db: AsyncSession, viewer_id: int | None) -> dict[str, Any]:
    friends = await graph.friend_ids(db, viewer_id) if viewer_id is not None else []
    return {"viewer": viewer_id, "friends": friends}


@cache
def _ranked_statement(*, is_sqlite: bool, with_text: bool, signed_in: bool, with_friends: bool) -> Select[Any]:
    """The common search (no filters): the engine's best matches, visible ones, best first. Built
    once per shape with the query and the viewer as parameters: building and keying it anew was
    ~0.6 ms a search."""
    best, relevance = engine.best(is_sqlite, limit=CANDIDATES * 3 // 2, with_text=with_text)
    rule = _visible_rule(is_sqlite=is_sqlite, signed_in=signed_in, with_friends=with_friends)
    return (best.where(SearchDoc.kind == VIDEO, rule)
            .order_by(relevance.desc()).limit(CANDIDATES))


async def search_videos(db: AsyncSession, *, viewer_id: int | None, query: str, filters: Filters = Filters(),
                        offset: int = 0, limit: int = PAGE_SIZE) -> VideoResults:
    analysed = analysis.analyse_query(query)
    if analysed.is_empty() or offset >= CANDIDATES:
        return VideoResults()
    narrowed = filters.period != "any" or filters.length != "any" or filters.sort == "newest"
    # A one-part query is covered by every document it matches: no token text to read.
    with_text = len(parts_of(analysed)) > 1
    parameters = await _viewer_parameters(db, viewer_id)
    visibility = {"signed_in": viewer_id is not None, "with_friends": bool(parameters["friends"])}
    now = clock.utcnow()
    if narrowed:  # filters first, then rank what is left
        stmt, relevance = engine.matching(on_sqlite(db), analysed, with_text=with_text)
        stmt = stmt.where(SearchDoc.kind == VIDEO, _visible_rule(is_sqlite=on_sqlite(db), **visibility))
        if filters.period != "any":
            stmt = stmt.where(SearchDoc.created_at >= now - _PERIODS[filters.period])
        if filters.length != "any":
            low, high = _LENGTHS[filters.length]
            if low is not None:
                stmt = stmt.where(SearchDoc.duration_ms >= low)
            if high is not None:
                stmt = stmt.where(SearchDoc.duration_ms < high)
        order = SearchDoc.created_at.desc() if filters.sort == "newest" else relevance.desc()
        stmt = stmt.order_by(order).limit(CANDIDATES)
    else:  # rank first, in the engine; visibility then drops few of the best
        stmt = _ranked_statement(is_sqlite=on_sqlite(db), with_text=with_text, **visibility)
        parameters |= engine.match_parameters(on_sqlite(db), analysed)
    found = await engine.hits(db, stmt, parameters, kept=not narrowed)
    ranked = await _rank(db, found, analysed, filters.sort, now)
    page = ranked[offset:offset + limit]
    visible = await videos.visible_by_id(db, viewer_id=viewer_id, video_ids=page, friends=parameters["friends"])
    more = offset + limit < len(ranked)
    return VideoResults(videos=[visible[i] for i in page if i in visible], next_offset=offset + limit if more else None)


async def text_ranked(db: AsyncSession, query: str, *, kind: str = VIDEO, limit: int = CANDIDATES) -> list[int]:
    """Document ids by text alone (relevance × coverage), no visibility, popularity or freshness:
    what the offline relevance check measures (bench/search_relevance.py)."""
    analysed = analysis.analyse_query(query)
    if analysed.is_empty():
        return []
    stmt, relevance = engine.matching(on_sqlite(db), analysed)
    found = await engine.hits(db, stmt.where(SearchDoc.kind == kind).order_by(relevance.desc()).limit(CANDIDATES))
    parts = parts_of(analysed)
    scored = sorted(((text_score(h.relevance, coverage(parts, h)), h.doc_id) for h in found), reverse=True)
    return [doc_id for _, doc_id in scored[:limit]]


async def _rank(db: AsyncSession, found: list[engine.Hit], query: analysis.Analysed, sort: Sort,
                now: datetime) -> list[int]:
    if sort == "newest":
        return [h.doc_id for h in found]
    parts = parts_of(query)
    # Sorting by likes asks the social context for the exact counts; ranking uses the document's.
    likes = await engagement.stats_of_many(db, [h.doc_id for h in found]) if sort == "likes" else {}
    scored = [(likes[h.doc_id].likes if h.doc_id in likes else 0, score(h, parts, now), h.doc_id) for h in found]
    scored.sort(reverse=True)
    return [doc_id for _, _, doc_id in scored]


async def search_hashtags(db: AsyncSession, *, query: str, limit: int = PAGE_SIZE) -> list[HashtagResult]:
    analysed = analysis.analyse_query(query)
    if analysed.is_empty():
        return []
    stmt, relevance = engine.matching(on_sqlite(db), analysed)
    found = await engine.hits(db, stmt.where(SearchDoc.kind == HASHTAG).order_by(relevance.desc()).limit(CANDIDATES))
    if not found:
        return []
    tags = {row.id: row for row in await db.scalars(select(Hashtag).where(Hashtag.id.in_([h.doc_id for h in found])))}
    parts, exact = parts_of(analysed), clean_query(query).lstrip("#")
    scored = []
    for h in found:
        tag = tags.get(h.doc_id)
        if tag is not None and tag.videos > 0:
            used = 1 + 0.2 * math.log1p(tag.videos)
            scored.append((tag.tag == exact, text_score(h.relevance, coverage(parts, h)) * used, h.doc_id))
    scored.sort(reverse=True)
    return [HashtagResult(tag=tags[i].tag, videos=tags[i].videos) for _, _, i in scored[:limit]]


async def search_products(db: AsyncSession, *, viewer_id: int | None, query: str, limit: int = PAGE_SIZE) -> list[int]:
    """Products on sale by title, description, variant and shop name, ranked by text and units
    sold; none of a shop whose owner blocked the viewer or was blocked by them."""
    analysed = analysis.analyse_query(query)
    if analysed.is_empty():
        return []
    stmt, relevance = engine.matching(on_sqlite(db), analysed, with_text=len(parts_of(analysed)) > 1)
    stmt = stmt.where(SearchDoc.kind == PRODUCT)
    if viewer_id is not None:
        stmt = stmt.where(SearchDoc.owner_id.not_in(graph.hidden_user_ids(viewer_id)))
    found = await engine.hits(db, stmt.order_by(relevance.desc()).limit(CANDIDATES))
    parts = parts_of(analysed)
    scored = sorted(((text_score(h.relevance, coverage(parts, h)) * popularity(h.popularity), h.doc_id)
                     for h in found), reverse=True)
    return [doc_id for _, doc_id in scored[:limit]]


async def search_users(db: AsyncSession, *, viewer_id: int | None, query: str, limit: int = PAGE_SIZE) -> list[int]:
    """People by handle, nickname, pinyin or initials (the friend search's matching). Private
    accounts are found (that is how people ask to follow them); their videos are not."""
    q = clean_query(query)[:40]
    return await people.search(db, viewer_id=viewer_id, query=q, limit=limit) if q else []


async def log_search(db: AsyncSession, *, user_id: int | None, query: str, tab: str, results: int,
                     at: datetime | None = None) -> int:
    """Record a search for the hot list, analytics and the recommender, and in the searcher's
    history; returns the log id results are attributed to (clicks)."""
    text = clean_query(query)
    row = SearchLog(id=new_id(), user_id=user_id, query=text, tab=tab, results=results, at=at or clock.utcnow())
    db.add(row)
    recorded = user_id is None or not text or await insert_ignore(
        db, SearchHistory, user_id=user_id, query=text, searched_at=row.at)
    if not recorded:
        entry = await db.get(SearchHistory, (user_id, text))
        if entry is not None:
            entry.searched_at = row.at
    return row.id


@dataclass(frozen=True)
class SearchStats:
    searches_today: int
    searchers_30d: int  # search MAU: distinct signed-in people who searched in the last 30 days
    anonymous_30d: int  # signed-out searches in the last 30 days (no person to count)
    click_through: float  # share of the last 30 days' searches with at least one result opened
    top_no_results: list[tuple[str, int]]  # what people look for and do not find, last 7 days


async def search_stats(db: AsyncSession, *, now: datetime | None = None) -> SearchStats:
    """For operators: how much search is used and where it fails."""
    now = now or clock.utcnow()
    month, week = now - timedelta(days=30), now - timedelta(days=7)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = await db.scalar(select(func.count()).select_from(SearchLog).where(SearchLog.at >= day)) or 0
    searchers = await db.scalar(select(func.count(distinct(SearchLog.user_id))).where(
        SearchLog.at >= month, SearchLog.user_id.is_not(None))) or 0
    anonymous = await db.scalar(select(func.count()).select_from(SearchLog).where(
        SearchLog.at >= month, SearchLog.user_id.is_(None))) or 0
    total = await db.scalar(select(func.count()).select_from(SearchLog).where(SearchLog.at >= month)) or 0
    clicked = await db.scalar(select(func.count(distinct(SearchClick.log_id))).join(
        SearchLog, SearchLog.id == SearchClick.log_id).where(SearchLog.at >= month)) or 0
    failing = (await db.execute(
        select(SearchLog.query, func.count()).where(SearchLog.at >= week, SearchLog.results == 0)
        .group_by(SearchLog.query).order_by(func.count().desc(), SearchLog.query).limit(20))).all()
    return SearchStats(searches_today=int(today), searchers_30d=int(searchers), anonymous_30d=int(anonymous),
                       click_through=round(clicked / total, 4) if total else 0.0,
                       top_no_results=[(q, int(n)) for q, n in failing])
