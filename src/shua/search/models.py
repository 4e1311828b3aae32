"""Search's own tables: the documents (a video or a hashtag, as tokens), the hashtags with their
counts, the query log and each viewer's history, the terms offered as suggestions, the counts
the hot list is computed from, the list itself and the operators' pins and removals.

Full-text indexes over `search_docs` are backend-specific and live in the migration: an FTS5
table kept in step by triggers on SQLite, a generated weighted tsvector with a GIN index on
PostgreSQL. Both read the same four token columns (see search.analysis).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock
from shua.core.db import Base, UTCDateTime, id_column

VIDEO, HASHTAG, PRODUCT = "video", "tag", "product"
PIN, REMOVE = "pin", "remove"
HOT, NEW = "hot", "new"


class SearchDoc(Base):
    """One searchable thing. `id` is the video's id, the hashtag's or the product's. The token columns are
    space-separated tokens from search.analysis: `tags` (#hashtags, @handles), `words` (jieba and
    English words), `pinyin` (whole and initials), `grams` (Chinese bigrams and characters)."""

    __tablename__ = "search_docs"
    __table_args__ = (Index("ix_search_docs_kind_created", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(8))
    owner_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # a video's creator
    visibility: Mapped[str] = mapped_column(String(8), default="public")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # likes + shares + favourites, set when indexed and moved by engagement events since: ranking
    # reads it off the document instead of asking the social context on every search
    popularity: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tags: Mapped[str] = mapped_column(Text, default="")
    words: Mapped[str] = mapped_column(Text, default="")
    pinyin: Mapped[str] = mapped_column(Text, default="")
    grams: Mapped[str] = mapped_column(Text, default="")
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Hashtag(Base):
    """A hashtag seen on a listed video; `videos` counts the public listed ones carrying it
    (kept by the indexer from the difference between a document's old and new tags)."""

    __tablename__ = "search_hashtags"

    id: Mapped[int] = id_column()
    tag: Mapped[str] = mapped_column(String(60), unique=True)  # without '#', lowercase
    videos: Mapped[int] = mapped_column(BigInteger, default=0)


class SearchLog(Base):
    """One search as it was made: what the hot list, search analytics and the recommender read.
    Append-only; `query` is normalised (search.analysis.normalise, spaces collapsed)."""

    __tablename__ = "search_logs"
    __table_args__ = (Index("ix_search_logs_user_at", "user_id", "at"),)

    id: Mapped[int] = id_column()
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    query: Mapped[str] = mapped_column(String(100))
    tab: Mapped[str] = mapped_column(String(8))
    results: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class SearchClick(Base):
    """A result a viewer opened: query → video, a signal for the recommender and for ranking."""

    __tablename__ = "search_clicks"

    id: Mapped[int] = id_column()
    log_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("search_logs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    video_id: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class SearchHistory(Base):
    """A viewer's own recent searches (one row per distinct query, newest kept)."""

    __tablename__ = "search_history"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    query: Mapped[str] = mapped_column(String(100), primary_key=True)
    searched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow, index=True)


class SearchTerm(Base):
    """A term offered while typing: a hashtag, or a query enough different people searched
    (never one person's query shown to others). `pinyin`/`initials` are space-delimited runs
    as in friend search, so "xiaomao" and "xm" complete 小猫."""

    __tablename__ = "search_terms"

    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    pinyin: Mapped[str] = mapped_column(String(600), default="")
    initials: Mapped[str] = mapped_column(String(200), default="")
    searchers: Mapped[int] = mapped_column(BigInteger, default=0)  # distinct people, summed per fold
    videos: Mapped[int] = mapped_column(BigInteger, default=0)  # for a hashtag
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class TrendCount(Base):
    """Search and engagement volume of a term in one hour: what "rising" is measured against."""

    __tablename__ = "search_trend_counts"

    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    searches: Mapped[int] = mapped_column(BigInteger, default=0)
    engagement: Mapped[int] = mapped_column(BigInteger, default=0)


class HotEntry(Base):
    """The computed hot list (热搜榜) as of its last refresh, replaced as a whole."""

    __tablename__ = "search_hot"

    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    term: Mapped[str] = mapped_column(String(100))
    heat: Mapped[float] = mapped_column(Float)
    badge: Mapped[str | None] = mapped_column(String(8), nullable=True)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HotOverride(Base):
    """An operator's decision on a hot-list term: pinned at a position, or removed."""

    __tablename__ = "search_hot_overrides"

    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    action: Mapped[str] = mapped_column(String(8))
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1-based, for a pin
    actor_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class SearchState(Base):
    """Watermarks of the search jobs (how far the log has been folded into counts)."""

    __tablename__ = "search_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

