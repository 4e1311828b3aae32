"""The search page: before typing, the viewer's history, guesses and the hot list; after, the
results in tabs with filters. Rendered whole on the server (one round trip, works without
JavaScript); search.js adds suggestions while typing, more results on scroll and click logging."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from shua.core.errors import ShuaError
from shua.search import hot, service, suggest
from shua.search import routes as search_routes
from shua.web.deps import client_ip, get_runtime
from shua.web.pages import current_viewer, pick_locale, render

router = APIRouter(include_in_schema=False)
TABS: tuple[service.Tab, ...] = ("all", "videos", "users", "hashtags", "products")
SORTS: tuple[service.Sort, ...] = ("relevance", "likes", "newest")
PERIODS: tuple[service.Period, ...] = ("any", "day", "week", "half_year")
LENGTHS: tuple[service.Length, ...] = ("any", "short", "medium", "long")


T = TypeVar("T", bound=str)
Word = Annotated[str, Query(max_length=20)]


def _pick(value: str, allowed: tuple[T, ...]) -> T:
    """A page takes what it knows and falls back for the rest (a hand-edited URL is no error)."""
    return next((a for a in allowed if a == value), allowed[0])


@router.get("/search", response_class=HTMLResponse)
async def show_search(
    request: Request, q: Annotated[str, Query(max_length=10_000)] = "", tab: Word = "all", sort: Word = "relevance",
    period: Word = "any", length: Word = "any",
) -> Response:
    viewer = await current_viewer(request)
    locale = pick_locale(request, viewer)
    runtime = get_runtime(request)
    viewer_id = viewer.me.id if viewer else None
    q = q.replace("\x00", "")
    chosen = service.Filters(sort=_pick(sort, SORTS), period=_pick(period, PERIODS), length=_pick(length, LENGTHS))
    shown_tab = _pick(tab, TABS)
    page = None
    try:
        if service.clean_query(q):
            await runtime.limiter.hit(runtime.settings.search_rate, "search", str(viewer_id or client_ip(request)))
    except ShuaError:
        return render(request, "search.html", viewer=viewer, locale=locale, title="search.title", status=429,
                      query=q, tab=shown_tab, filters=chosen, page=None, limited=True, tabs=TABS, sorts=SORTS,
                      periods=PERIODS, lengths=LENGTHS, history=[], guesses=[], hot=[])
    async with runtime.database.transaction(write=False) as db:
        if service.clean_query(q):
            page, found = await search_routes.results_page(db, runtime, viewer_id=viewer_id, q=q, tab=shown_tab,
                                                           filters=chosen)
        history = await suggest.history(db, user_id=viewer_id) if viewer_id and page is None else []
        hot_items = await hot.hot_list(db) if page is None else []
        guesses = await suggest.guesses(db, viewer_id=viewer_id, hot_terms={i.term for i in hot_items}) \
            if page is None else []
    if page is not None:
        await search_routes.log_page(runtime, page, viewer_id=viewer_id, q=q, found=found)
    return render(request, "search.html", viewer=viewer, locale=locale, title="search.title", query=page.query if page
                  else service.clean_query(q), tab=shown_tab, filters=chosen, page=page, limited=False, tabs=TABS,
                  sorts=SORTS, periods=PERIODS, lengths=LENGTHS, history=history, guesses=guesses, hot=hot_items)
