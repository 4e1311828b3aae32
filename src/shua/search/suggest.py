"""Help before the results: completions while typing, the viewer's own history, and "guess you
want to search" (猜你想搜).

Completions match a prefix of the term, of its pinyin ("xiaom" → 小猫咪) or of its initials
("xm"), over hashtags in use and queries that at least SUGGEST_MIN_SEARCHERS different people
searched and got results for (one person's query is never shown to anyone else), plus the
viewer's own matching history and people (the friend search: "zs" → 张三).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core.db import like_escape
from shua.search import hot
from shua.search.models import SearchDoc, SearchHistory, SearchTerm
from shua.search.service import HISTORY_KEEP, clean_query
from shua.social import engagement, people

MAX_SUGGESTIONS = 10
GUESSES = 6


@dataclass(frozen=True)
class Suggestion:
    kind: str  # "history" | "term" | "hashtag" | "user"
    text: str
    user_id: int | None = None
    videos: int = 0


async def history(db: AsyncSession, *, user_id: int, limit: int = HISTORY_KEEP) -> list[str]:
    rows = await db.scalars(select(SearchHistory.query).where(SearchHistory.user_id == user_id)
                            .order_by(SearchHistory.searched_at.desc()).limit(limit))
    return list(rows.all())


async def forget(db: AsyncSession, *, user_id: int, query: str | None = None) -> int:
    """Delete one entry of the viewer's history, or all of it."""
    stmt = delete(SearchHistory).where(SearchHistory.user_id == user_id)
    if query is not None:
        stmt = stmt.where(SearchHistory.query == clean_query(query))
    return int(getattr(await db.execute(stmt), "rowcount", 0) or 0)


async def complete(db: AsyncSession, *, viewer_id: int | None, prefix: str,
                   limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    q = clean_query(prefix)
    if not q:
        return []
    like, squashed = like_escape(q.lstrip("#")), like_escape(q.replace(" ", ""))
    found: list[Suggestion] = []
    if viewer_id is not None:
        mine = await db.scalars(select(SearchHistory.query).where(
            SearchHistory.user_id == viewer_id, SearchHistory.query.like(f"{like}%", escape="\\"))
            .order_by(SearchHistory.searched_at.desc()).limit(3))
        found += [Suggestion(kind="history", text=text) for text in mine]
    matches = or_(SearchTerm.term.like(f"{like}%", escape="\\"), SearchTerm.term.like(f"#{like}%", escape="\\"),
                  SearchTerm.pinyin.like(f"% {squashed}%", escape="\\"),
                  SearchTerm.initials.like(f"% {squashed}%", escape="\\"))
    popular = or_(SearchTerm.videos > 0, SearchTerm.searchers >= hot.SUGGEST_MIN_SEARCHERS)
    terms = await db.scalars(select(SearchTerm).where(matches, popular)
                             .order_by((SearchTerm.videos + SearchTerm.searchers).desc(), SearchTerm.term).limit(limit))
    for term in terms:
        kind = "hashtag" if term.term.startswith("#") else "term"
        found.append(Suggestion(kind=kind, text=term.term, videos=term.videos))
    for user_id in await people.search(db, viewer_id=viewer_id, query=q[:40], limit=3):
        found.append(Suggestion(kind="user", text=q, user_id=user_id))
    seen: set[tuple[str, str, int | None]] = set()
    unique = []
    for s in found:
        key = (s.kind if s.kind == "user" else "text", s.text.lstrip("#") if s.kind != "user" else "", s.user_id)
        if key not in seen:
            seen.add(key)
            unique.append(s)
    return unique[:limit]


async def guesses(db: AsyncSession, *, viewer_id: int | None, hot_terms: set[str],
                  limit: int = GUESSES) -> list[str]:
    """Topics of the videos the viewer liked lately that they have not searched, then the most
    used hashtags; never what the hot list beside them already shows (`hot_terms`, which the
    caller has read to show it)."""
    picks: list[str] = []
    searched: set[str] = set()
    if viewer_id is not None:
        liked = await engagement.recent_likes(db, user_id=viewer_id, limit=30)
        searched = {hot.topic_of(q) for q in await history(db, user_id=viewer_id)}
        if liked:
            counts: Counter[str] = Counter()
            for tags in await db.scalars(select(SearchDoc.tags).where(SearchDoc.id.in_(liked))):
                counts.update(hot.topic_of(t) for t in tags.split() if t.startswith("#"))
            picks += [t for t, _ in counts.most_common() if t]
    shown = hot_terms | searched
    popular = await db.scalars(select(SearchTerm.term).where(SearchTerm.videos > 0)
                               .order_by(SearchTerm.videos.desc(), SearchTerm.term).limit(limit + len(shown)))
    picks += [hot.topic_of(term) for term in popular]
    return [p for p in dict.fromkeys(picks) if p not in shown][:limit]
