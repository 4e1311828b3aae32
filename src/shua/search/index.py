"""Keeping the search documents in step with videos, creators, hashtags and the shop's products.

Driven by outbox events (search.tasks): a video that became ready, was edited or deleted, a
creator who renamed. Every function here reads the current state through the owning context's
service functions and writes the document to match, so running it twice, late or out of order
changes nothing: the last run always leaves the document as the video is now.

A video is listed while it is a published post (playable, not deleted or failed) whose
visibility is public or friends; private ones and daily clips are not searchable. Who may see a
listed one is decided at read time (search.service), with the social rules of that moment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.accounts.models import User
from shua.commerce import shops
from shua.core import clock
from shua.core.db import Database, insert_ignore, on_sqlite
from shua.core.ids import new_id
from shua.media import categories, videos
from shua.media.models import DELETED, FAILED, FRIENDS, POST, PUBLIC, Video
from shua.search import analysis
from shua.search.models import HASHTAG, PRODUCT, VIDEO, Hashtag, SearchDoc, SearchTerm
from shua.social import engagement
from shua.social.people import pinyin_keys

SEARCHABLE = (PUBLIC, FRIENDS)
Progress = Callable[[int, int], None]  # (done, total)
MAX_TAG_CHARS = 60


@dataclass(frozen=True)
class Tokens:
    tags: str
    words: str
    pinyin: str
    grams: str


def _join(*groups: Iterable[str]) -> str:
    return " ".join(dict.fromkeys(t for group in groups for t in group if t and " " not in t))


def video_tokens(video: Video, creator: User | None) -> Tokens:
    """A video's document: its caption (with hashtags and @mentions) and cover text, its
    structured hashtags, its category's name in every UI language, and its creator's nickname and
    handle — people search for topics and creators the caption never spells out."""
    caption = analysis.analyse(f"{video.caption}\n{video.cover_text or ''}", initials=False)
    name = analysis.analyse(creator.nickname if creator else "", initials=False)
    # hashtags (also those set apart from the caption) and the category: what the video is about
    topics = analysis.analyse(" ".join([*(video.hashtags or []), *categories.names(video.category)]),
                              initials=False)
    tags = [f"#{analysis.normalise(t)}" for t in video.hashtags or []]
    handle = [f"@{creator.handle}", creator.handle] if creator else []
    return Tokens(
        tags=_join(tags, caption.tags, handle[:1]),
        words=_join(caption.words, topics.words, name.words, handle[1:]),
        pinyin=_join(caption.pinyin, topics.pinyin, name.pinyin),
        grams=_join(caption.bigrams, caption.chars, topics.bigrams, topics.chars, name.bigrams, name.chars),
    )


def text_tokens(text: str) -> Tokens:
    """A plain text's document (the offline relevance check indexes titles this way)."""
    found = analysis.analyse(text, initials=False)
    return Tokens(tags=_join(found.tags), words=_join(found.words), pinyin=_join(found.pinyin),
                  grams=_join(found.bigrams, found.chars))


def hashtag_tokens(tag: str) -> Tokens:
    found = analysis.analyse(tag, initials=False)
    return Tokens(tags=f"#{tag}", words=_join(found.words), pinyin=_join(found.pinyin),
                  grams=_join(found.bigrams, found.chars))


def product_tokens(listing: shops.Listing) -> Tokens:
    """A product's document: its title, description, variants (颜色 / 尺码) and shop name."""
    title = analysis.analyse(listing.title, initials=False)
    rest = analysis.analyse(" ".join([listing.text, *listing.variants, listing.shop_name]), initials=False)
    return Tokens(tags=_join(title.tags, rest.tags), words=_join(title.words, rest.words),
                  pinyin=_join(title.pinyin, rest.pinyin),
                  grams=_join(title.bigrams, title.chars, rest.bigrams, rest.chars))


async def index_product(db: AsyncSession, product_id: int) -> bool:
    """Make the product's document match it as it is now (gone, off sale or its shop closed: no
    document); True if it is listed. Its popularity is the units sold."""
    listing = (await shops.listings(db, product_ids=[product_id])).get(product_id)
    doc = await _lock_doc(db, product_id)
    if listing is None:
        if doc is not None:
            await db.delete(doc)
        return False
    tokens = product_tokens(listing)
    values = dict(kind=PRODUCT, owner_id=listing.owner_id, visibility=PUBLIC, created_at=listing.created_at,
                  duration_ms=None, popularity=listing.sold, tags=tokens.tags, words=tokens.words,
                  pinyin=tokens.pinyin, grams=tokens.grams, indexed_at=clock.utcnow())
    if doc is None:
        db.add(SearchDoc(id=product_id, **values))
    else:
        for name, value in values.items():
            setattr(doc, name, value)
    await db.flush()
    return True


def is_listed(video: Video | None) -> bool:
    return (video is not None and video.purpose == POST and video.status not in (DELETED, FAILED)
            and video.removed_at is None
            and video.playable_at is not None and video.visibility in SEARCHABLE)


def _counted_tags(doc: SearchDoc | None) -> set[str]:
    """The hashtags a document adds to their video counts (public listed videos only)."""
    if doc is None or doc.visibility != PUBLIC:
        return set()
    return {t[1:] for t in doc.tags.split() if t.startswith("#")}


async def _lock_doc(db: AsyncSession, doc_id: int) -> SearchDoc | None:
    # FOR UPDATE on PostgreSQL: two jobs indexing one video serialise, so the hashtag counts'
    # difference is taken against what the other wrote. SQLite has a single writer anyway.
    return (await db.scalars(select(SearchDoc).where(SearchDoc.id == doc_id).with_for_update())).first()


async def index_video(db: AsyncSession, video_id: int) -> bool:
    """Make the video's document match the video as it is now; True if it is listed."""
    video = (await videos.by_id(db, video_ids=[video_id])).get(video_id)
    doc = await _lock_doc(db, video_id)
    before = _counted_tags(doc)
    if not is_listed(video):
        if doc is not None:
            await db.delete(doc)
        await _count_hashtags(db, added=set(), removed=before)
        return False
    assert video is not None
    creator = (await accounts.users_by_id(db, ids=[video.owner_id])).get(video.owner_id)
    tokens = video_tokens(video, creator)
    stats = (await engagement.stats_of_many(db, [video.id])).get(video.id, engagement.Stats())
    values = dict(kind=VIDEO, owner_id=video.owner_id, visibility=video.visibility, created_at=video.created_at,
                  duration_ms=video.duration_ms, popularity=stats.likes + stats.shares + stats.favourites,
                  tags=tokens.tags, words=tokens.words, pinyin=tokens.pinyin,
                  grams=tokens.grams, indexed_at=clock.utcnow())
    if doc is None:
        doc = SearchDoc(id=video.id, **values)
        db.add(doc)
    else:
        for name, value in values.items():
            setattr(doc, name, value)
    await db.flush()
    after = _counted_tags(doc)
    await _count_hashtags(db, added=after - before, removed=before - after)
    return True


async def _count_hashtags(db: AsyncSession, *, added: set[str], removed: set[str]) -> None:
    for tag in sorted(added | removed):
        tag = tag[:MAX_TAG_CHARS]
        delta = 1 if tag in added else -1
        if delta > 0 and await insert_ignore(db, Hashtag, id=new_id(), tag=tag, videos=0):
            await db.flush()
        await db.execute(update(Hashtag).where(Hashtag.tag == tag).values(videos=Hashtag.videos + delta))
        row = (await db.scalars(select(Hashtag).where(Hashtag.tag == tag))).first()
        if row is not None:
            await _sync_hashtag_doc(db, row)


async def _sync_hashtag_doc(db: AsyncSession, row: Hashtag) -> None:
    """A hashtag is searchable (and offered while typing) while a public video carries it."""
    await db.refresh(row)
    doc = await db.get(SearchDoc, row.id)
    term = await db.get(SearchTerm, f"#{row.tag}")
    if row.videos <= 0:
        if doc is not None:
            await db.delete(doc)
        if term is not None:
            term.videos = 0
        return
    if doc is None:
        tokens = hashtag_tokens(row.tag)
        db.add(SearchDoc(id=row.id, kind=HASHTAG, visibility=PUBLIC, created_at=clock.utcnow(), tags=tokens.tags,
                         words=tokens.words, pinyin=tokens.pinyin, grams=tokens.grams, indexed_at=clock.utcnow()))
    if term is None:
        full, initials = pinyin_keys(row.tag)
        db.add(SearchTerm(term=f"#{row.tag}", pinyin=full, initials=initials, videos=row.videos,
                          updated_at=clock.utcnow()))
    else:
        term.videos, term.updated_at = row.videos, clock.utcnow()


async def index_creator(database: Database, user_id: int, *, batch: int = 200) -> int:
    """A creator renamed (or left): reindex each of their videos, a batch per transaction."""
    async with database.transaction(write=False) as db:
        ids = list((await db.scalars(videos.owned_ids(user_id))).all())
    return await _index_many(database, sorted(ids), batch=batch)


async def _index_many(database: Database, ids: list[int], *, batch: int, progress: Progress | None = None) -> int:
    for start in range(0, len(ids), batch):
        async with database.transaction() as db:
            for video_id in ids[start:start + batch]:
                await index_video(db, video_id)
        if progress is not None:
            progress(min(start + batch, len(ids)), len(ids))
    return len(ids)


async def reindex_all(database: Database, *, batch: int = 500, progress: Progress | None = None) -> int:
    """Rebuild every document from the videos as they are (`shua search reindex`), dropping
    those of videos that are gone, then recount the hashtags from the documents. Idempotent,
    and search keeps answering meanwhile (documents are replaced one by one, not wiped)."""
    async with database.transaction(write=False) as db:
        ids = set(await videos.video_ids(db))
        indexed = set((await db.scalars(select(SearchDoc.id).where(SearchDoc.kind == VIDEO))).all())
    done = await _index_many(database, sorted(ids | indexed), batch=batch, progress=progress)
    await recount_hashtags(database)
    return done + await reindex_products(database, batch=batch)


async def reindex_products(database: Database, *, batch: int = 500) -> int:
    async with database.transaction(write=False) as db:
        ids = set(await shops.product_ids(db))
        ids |= set((await db.scalars(select(SearchDoc.id).where(SearchDoc.kind == PRODUCT))).all())
    ordered = sorted(ids)
    for start in range(0, len(ordered), batch):
        async with database.transaction() as db:
            for product_id in ordered[start:start + batch]:
                await index_product(db, product_id)
    return len(ordered)


async def recount_hashtags(database: Database, *, batch: int = 5000) -> int:
    """Set every hashtag's count from the documents (repairs drift; the indexer keeps them by
    differences). Returns how many hashtags are in use."""
    counts: Counter[str] = Counter()
    after = -1
    while True:
        async with database.transaction(write=False) as db:
            rows = (await db.execute(
                select(SearchDoc.id, SearchDoc.tags).where(SearchDoc.kind == VIDEO, SearchDoc.visibility == PUBLIC,
                                                           SearchDoc.id > after)
                .order_by(SearchDoc.id).limit(batch))).all()
        if not rows:
            break
        for _, tags in rows:
            counts.update({t[1:][:MAX_TAG_CHARS] for t in tags.split() if t.startswith("#")})
        after = rows[-1][0]
    async with database.transaction() as db:
        known = {row.tag: row for row in (await db.scalars(select(Hashtag))).all()}
        for tag in set(known) | set(counts):
            row = known.get(tag)
            if row is None:
                row = Hashtag(id=new_id(), tag=tag, videos=0)
                db.add(row)
                await db.flush()
            row.videos = counts.get(tag, 0)
            await db.flush()
            await _sync_hashtag_doc(db, row)
    return len(counts)


async def add_popularity(db: AsyncSession, *, video_id: int, amount: int) -> None:
    """A like, share or favourite (or its undoing) on an indexed video; `shua search reindex` sets
    the exact figure again from the social context."""
    await db.execute(update(SearchDoc).where(SearchDoc.id == video_id)
                     .values(popularity=func.max(SearchDoc.popularity + amount, 0)
                             if on_sqlite(db)
                             else func.greatest(SearchDoc.popularity + amount, 0)))


async def document_count(db: AsyncSession, kind: str = VIDEO) -> int:
    return int(await db.scalar(select(func.count()).select_from(SearchDoc).where(SearchDoc.kind == kind)) or 0)
