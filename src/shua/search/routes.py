"""The search API: results by tab, suggestions, history, the hot list, clicks; and the
operators' hot-list controls."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.accounts.schemas import UserRead
from shua.commerce import shops
from shua.core import jobs
from shua.core.errors import InvalidRequest, NotFound
from shua.core.ids import new_id, parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.media import videos
from shua.media.routes import VideoRead, video_reads
from shua.media.videos import VideoNotFound
from shua.runtime import Runtime
from shua.search import hot, service, suggest
from shua.search.models import PIN, REMOVE, HotOverride, SearchClick, SearchLog
from shua.social.routes import people_reads
from shua.social.schemas import PersonRead
from shua.web.deps import DB, AdminAuth, CurrentAuth, MaybeAuth, RuntimeDep, client_ip

router = APIRouter(prefix="/api/v1/search", tags=["search"])
admin = APIRouter(prefix="/api/v1/admin/search", tags=["admin"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": "Problem", "content": {"application/problem+json": {}}} for code in (401, 403, 404, 422, 429)
}
# Longer than any real query, short enough to refuse junk; text beyond MAX_QUERY_CHARS is ignored.
QueryText = Annotated[str, Query(max_length=10_000, pattern=r"^[^\x00]*$")]
ALL_TAB_USERS, ALL_TAB_HASHTAGS, ALL_TAB_PRODUCTS = 3, 3, 2


class SearchLogNotFound(NotFound):
    code = "search.not_found"
    title = "No such search"


class OverrideNotFound(NotFound):
    code = "search.override_not_found"
    title = "That term has no pin or removal"


class VideoHit(BaseModel):
    video: VideoRead
    creator: UserRead


class HashtagRead(BaseModel):
    tag: str = Field(description="Without the '#'")
    videos: int = Field(description="Public videos carrying it")


class ProductHit(BaseModel):
    id: str
    title: str
    shop_name: str
    price_from: int = Field(description="Fen: the cheapest variant")
    sold: int
    photo_url: str | None
    url: str


class SearchPageRead(BaseModel):
    query: str = Field(description="The query as it was searched (normalised, cut to 100 characters)")
    tab: service.Tab
    search_id: str | None = Field(None, description="Send it back with the clicks on results")
    videos: list[VideoHit] = []
    users: list[PersonRead] = []
    hashtags: list[HashtagRead] = []
    products: list[ProductHit] = []
    next_cursor: str | None = None


async def results_page(db: AsyncSession, runtime: Runtime, *, viewer_id: int | None, q: str, tab: service.Tab,
                       filters: service.Filters, offset: int = 0) -> tuple[SearchPageRead, int]:
    """One page of results as the API shows it (the search page renders the same), and how many
    results it holds."""
    page = SearchPageRead(query=service.clean_query(q), tab=tab)
    if not page.query:
        return page, 0
    found = 0
    if tab in ("all", "videos"):
        results = await service.search_videos(db, viewer_id=viewer_id, query=q, filters=filters, offset=offset)
        creators = await accounts.users_by_id(db, ids=list({v.owner_id for v in results.videos}))
        reads = await video_reads(db, runtime, results.videos, viewer_id=viewer_id)
        page.videos = [VideoHit(video=read, creator=accounts.to_user_read(creators[v.owner_id]))
                       for read, v in zip(reads, results.videos, strict=True) if v.owner_id in creators]
        page.next_cursor = encode_cursor({"o": results.next_offset}) if results.next_offset else None
        found += len(page.videos)
    if tab in ("all", "users") and offset == 0:
        ids = await service.search_users(db, viewer_id=viewer_id, query=q,
                                         limit=ALL_TAB_USERS if tab == "all" else service.PAGE_SIZE)
        page.users = await people_reads(db, viewer_id=viewer_id, user_ids=ids)
        found += len(page.users)
    if tab in ("all", "hashtags") and offset == 0:
        tags = await service.search_hashtags(db, query=q, limit=ALL_TAB_HASHTAGS if tab == "all" else service.PAGE_SIZE)
        page.hashtags = [HashtagRead(tag=t.tag, videos=t.videos) for t in tags]
        found += len(page.hashtags)
    if tab in ("all", "products") and offset == 0:
        ids = await service.search_products(db, viewer_id=viewer_id, query=q,
                                            limit=ALL_TAB_PRODUCTS if tab == "all" else service.PAGE_SIZE)
        shown = await shops.listings(db, product_ids=ids)  # on sale now, whatever the document says
        page.products = [ProductHit(id=str(i), title=shown[i].title, shop_name=shown[i].shop_name,
                                    price_from=shown[i].price_from, sold=shown[i].sold, photo_url=shown[i].photo_url,
                                    url=f"/p/{i}") for i in ids if i in shown]
        found += len(page.products)
    return page, found


async def log_page(runtime: Runtime, page: SearchPageRead, *, viewer_id: int | None, q: str, found: int) -> None:
    """Log a first page (not the pages scrolled after it) in its own short write."""
    async with runtime.database.transaction() as db:
        page.search_id = str(await service.log_search(db, user_id=viewer_id, query=q, tab=page.tab, results=found))
        await hot.claim_refresh(db)


@router.get("", responses=PROBLEMS)
async def search(
    request: Request, auth: MaybeAuth, db: DB, runtime: RuntimeDep, q: QueryText = "",
    tab: service.Tab = "all", sort: service.Sort = "relevance", period: service.Period = "any",
    length: service.Length = "any", cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> SearchPageRead:
    """Videos, users and hashtags for `q` (Chinese, pinyin, English, #hashtag or @handle), ranked
    by text relevance, popularity and freshness. `all` gives the first videos with the best
    users and hashtags; the other tabs page with `next_cursor`. Only what you may see."""
    viewer_id = auth.user.id if auth else None
    await runtime.limiter.hit(runtime.settings.search_rate, "search", str(viewer_id or client_ip(request)))
    offset = _offset(cursor)
    page, found = await results_page(db, runtime, viewer_id=viewer_id, q=q, tab=tab, offset=offset,
                                     filters=service.Filters(sort=sort, period=period, length=length))
    if page.query and offset == 0:
        await log_page(runtime, page, viewer_id=viewer_id, q=q, found=found)
    return page


def _offset(cursor: str | None) -> int:
    values = decode_cursor(cursor) or {}
    offset = values.get("o", 0)
    if not isinstance(offset, int) or not 0 <= offset <= service.CANDIDATES:
        raise InvalidRequest("The cursor is not valid", field="cursor")
    return offset


class SuggestionRead(BaseModel):
    kind: Literal["history", "term", "hashtag", "user"]
    text: str
    user: UserRead | None = None
    videos: int = 0


@router.get("/suggestions", responses=PROBLEMS)
async def suggestions(request: Request, auth: MaybeAuth, db: DB, runtime: RuntimeDep,
                      q: QueryText = "") -> list[SuggestionRead]:
    """Completions while typing: your history, hashtags and popular searches by prefix, pinyin or
    initials ("xm" → 小猫), and people ("zs" → 张三)."""
    viewer_id = auth.user.id if auth else None
    await runtime.limiter.hit(runtime.settings.search_rate, "suggest", str(viewer_id or client_ip(request)))
    found = await suggest.complete(db, viewer_id=viewer_id, prefix=q)
    users = await accounts.users_by_id(db, ids=[s.user_id for s in found if s.user_id is not None])
    return [SuggestionRead(kind=s.kind, text=users[s.user_id].nickname if s.user_id else s.text,
                           user=accounts.to_user_read(users[s.user_id]) if s.user_id else None, videos=s.videos)
            for s in found if s.user_id is None or s.user_id in users]


class HotItemRead(BaseModel):
    rank: int
    term: str
    badge: Literal["hot", "new"] | None
    pinned: bool = False
    heat: float = Field(description="How far above its usual volume the term is (0 for a pin)")


class DiscoverRead(BaseModel):
    history: list[str]
    guesses: list[str] = Field(description="猜你想搜: topics you may want to search")
    hot: list[HotItemRead]


def _hot_reads(items: list[hot.HotItem]) -> list[HotItemRead]:
    return [HotItemRead(rank=i.rank, term=i.term, badge=i.badge, pinned=i.pinned, heat=i.heat)
            for i in items]


@router.get("/discover", responses=PROBLEMS)
async def discover(auth: MaybeAuth, db: DB) -> DiscoverRead:
    """What the search page shows before you type: your history, guesses and the hot list."""
    viewer_id = auth.user.id if auth else None
    history = await suggest.history(db, user_id=viewer_id) if viewer_id else []
    hot_items = await hot.hot_list(db)
    guesses = await suggest.guesses(db, viewer_id=viewer_id, hot_terms={i.term for i in hot_items})
    return DiscoverRead(history=history, guesses=guesses, hot=_hot_reads(hot_items))


@router.get("/hot", responses=PROBLEMS)
async def hot_searches(db: DB) -> list[HotItemRead]:
    """The hot-search list (热搜榜): the top rising searches and topics."""
    return _hot_reads(await hot.hot_list(db))


@router.get("/history", responses=PROBLEMS)
async def read_history(auth: CurrentAuth, db: DB) -> list[str]:
    return await suggest.history(db, user_id=auth.user.id)


@router.delete("/history", status_code=204, responses=PROBLEMS)
async def clear_history(auth: CurrentAuth, db: DB, q: QueryText | None = None) -> Response:
    """Forget one of your searches (`q`), or all of them."""
    await suggest.forget(db, user_id=auth.user.id, query=q)
    return Response(status_code=204)


class ClickCreate(BaseModel):
    search_id: str = Field(max_length=24)
    video_id: str = Field(max_length=24)
    position: int = Field(0, ge=0, le=service.CANDIDATES)


@router.post("/clicks", status_code=204, responses=PROBLEMS)
async def record_click(body: ClickCreate, auth: MaybeAuth, db: DB) -> Response:
    """A result was opened: query → video, for ranking and the recommender."""
    log_id, video_id = parse_id(body.search_id), parse_id(body.video_id)
    log = await db.get(SearchLog, log_id) if log_id is not None else None
    viewer_id = auth.user.id if auth else None
    if log is None or video_id is None or log.user_id != viewer_id:
        raise SearchLogNotFound()
    if video_id not in await videos.visible_by_id(db, viewer_id=viewer_id, video_ids=[video_id]):
        raise VideoNotFound()
    click = SearchClick(id=new_id(), log_id=log.id, user_id=viewer_id, video_id=video_id, position=body.position)
    db.add(click)
    await jobs.publish(db, "search.clicked", {
        "user_id": str(viewer_id) if viewer_id else None, "click_id": str(click.id), "video_id": str(video_id),
        "query": log.query})
    return Response(status_code=204)


# Operators -------------------------------------------------------------------------------------


class HotOverrideBody(BaseModel):
    action: Literal["pin", "remove"]
    position: int | None = Field(None, ge=1, le=hot.TOP_N, description="For a pin: 1 is the top")


class HotOverrideRead(BaseModel):
    term: str
    action: Literal["pin", "remove"]
    position: int | None


class AdminHotRead(BaseModel):
    items: list[HotItemRead]
    overrides: list[HotOverrideRead]


async def _admin_hot(db: AsyncSession) -> AdminHotRead:
    rows = (await db.scalars(select(HotOverride).order_by(HotOverride.created_at))).all()
    return AdminHotRead(items=_hot_reads(await hot.hot_list(db)),
                        overrides=[HotOverrideRead(term=o.term, action=o.action, position=o.position) for o in rows])


@admin.get("/hot", responses=PROBLEMS)
async def admin_hot(_admin: AdminAuth, db: DB) -> AdminHotRead:
    return await _admin_hot(db)


HotTerm = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]


@admin.put("/hot/{term}", responses=PROBLEMS)
async def override_hot(term: HotTerm, body: HotOverrideBody,
                       auth: AdminAuth, db: DB) -> AdminHotRead:
    """Pin a term at a position, or remove it from the list (audited)."""
    if not hot.topic_of(term):
        raise InvalidRequest("The term is empty", field="term")
    await hot.override(db, actor_id=auth.user.id, term=term, action=PIN if body.action == "pin" else REMOVE,
                       position=(body.position or 1) if body.action == "pin" else None)
    await db.flush()
    return await _admin_hot(db)


@admin.delete("/hot/{term}", responses=PROBLEMS)
async def restore_hot(term: HotTerm, auth: AdminAuth, db: DB) -> AdminHotRead:
    """Undo a pin or a removal (audited)."""
    if not await hot.clear_override(db, actor_id=auth.user.id, term=term):
        raise OverrideNotFound()
    await db.flush()
    return await _admin_hot(db)


class FailingQueryRead(BaseModel):
    query: str
    searches: int


class SearchStatsRead(BaseModel):
    searches_today: int
    searchers_30d: int = Field(description="Search MAU: distinct signed-in people who searched in 30 days")
    anonymous_30d: int = Field(description="Signed-out searches in 30 days")
    click_through: float = Field(description="Share of searches (30 days) with a result opened")
    top_no_results: list[FailingQueryRead] = Field(description="Queries with no result, 7 days, most asked first")


@admin.get("/stats", responses=PROBLEMS)
async def search_stats(_admin: AdminAuth, db: DB) -> SearchStatsRead:
    """How much search is used (search MAU) and what people look for and do not find."""
    stats = await service.search_stats(db)
    return SearchStatsRead(
        searches_today=stats.searches_today, searchers_30d=stats.searchers_30d, anonymous_30d=stats.anonymous_30d,
        click_through=stats.click_through,
        top_no_results=[FailingQueryRead(query=q, searches=n) for q, n in stats.top_no_results])


class QueuedRead(BaseModel):
    queued: bool = True


@admin.post("/hot/refresh", status_code=202, responses=PROBLEMS)
async def refresh_hot(_admin: AdminAuth, db: DB) -> QueuedRead:
    """Recompute the list now instead of at the next refresh (queued: it is a job's work, and
    the request's own transaction must not wait on it)."""
    await jobs.enqueue(db, hot.REFRESH_TASK, {})
    return QueuedRead()
