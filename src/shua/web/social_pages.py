"""Pages of the social layer: profiles with follow buttons, people lists, the Friends tab,
adding friends, daily posts and moods. Rendered with what the first paint needs; the ES modules
talk to /api/v1 for every change."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shua.accounts import service as accounts
from shua.accounts.errors import UserNotFound
from shua.accounts.schemas import HANDLE_RE
from shua.media import videos
from shua.media.routes import video_reads
from shua.social import graph, moments
from shua.social.moments_routes import mood_read
from shua.social.routes import profile_read, visible_user
from shua.web.deps import get_runtime
from shua.web.pages import Viewer, current_viewer, error_page, login_redirect, pick_locale, render

router = APIRouter(include_in_schema=False)
Handle = Annotated[str, PathParam(max_length=64)]


def _plausible_ref(handle: str) -> bool:
    # Only something shaped like a handle or an id reaches the database (PostgreSQL refuses a
    # NUL byte in text with an error, not an empty result).
    return bool(HANDLE_RE.match(handle.lower()) or (handle.isascii() and handle.isdigit()))


async def _logged_in(request: Request) -> Viewer | Response:
    viewer = await current_viewer(request)
    return viewer if viewer is not None else login_redirect(request)


@router.get("/u/{handle}", response_class=HTMLResponse)
async def show_profile(request: Request, handle: Handle) -> Response:
    viewer = await current_viewer(request)
    locale = pick_locale(request, viewer)
    viewer_id = viewer.me.id if viewer else None
    runtime = get_runtime(request)
    try:
        if not _plausible_ref(handle):
            raise UserNotFound()
        async with runtime.database.transaction(write=False) as db:
            user = await visible_user(db, viewer_id=viewer_id, ref=handle)
            profile = await profile_read(db, viewer_id=viewer_id, user=user)
            mood = await moments.current_mood(db, viewer_id=viewer_id, user_id=user.id)
            daily = await moments.daily_of(db, viewer_id=viewer_id, author_id=user.id)
            friends = viewer_id is not None and await graph.are_friends(db, viewer_id, user.id)
            blocking = profile.relationship is not None and profile.relationship.blocking
            shown = [] if blocking else await videos.list_published(
                db, viewer_id=viewer_id, owner_ids=[user.id], friend_ids=[user.id] if friends else None, limit=60)
            works = await video_reads(db, runtime, shown, viewer_id=viewer_id)
    except UserNotFound:
        return error_page(request, viewer, locale, status=404, kind="notfound.user", icon="search")
    if profile.user.handle != handle:
        # An id or a differently-cased handle: one address per profile. Not 301: handles change.
        return RedirectResponse(f"/u/{profile.user.handle}", status_code=302)
    is_me = viewer_id == user.id
    return render(request, "profile.html", viewer=viewer, locale=locale, title="profile.title",
                  tab="me" if is_me else None, user=profile.user, profile=profile, is_me=is_me,
                  mood=mood_read(mood) if mood else None, daily_count=len(daily), works=works,
                  relationship=profile.relationship.model_dump() if profile.relationship else None)


PeopleTab = Literal["followers", "following", "friends"]


@router.get("/u/{handle}/people", response_class=HTMLResponse)
async def show_people(request: Request, handle: Handle, tab: PeopleTab = "followers") -> Response:
    viewer = await current_viewer(request)
    locale = pick_locale(request, viewer)
    try:
        if not _plausible_ref(handle):
            raise UserNotFound()
        async with get_runtime(request).database.transaction(write=False) as db:
            user = await visible_user(db, viewer_id=viewer.me.id if viewer else None, ref=handle)
            profile = await profile_read(db, viewer_id=viewer.me.id if viewer else None, user=user)
    except UserNotFound:
        return error_page(request, viewer, locale, status=404, kind="notfound.user", icon="search")
    is_me = viewer is not None and viewer.me.id == user.id
    return render(request, "people.html", viewer=viewer, locale=locale, title="people.title",
                  tab="me" if is_me else None, user=profile.user, profile=profile, people_tab=tab, is_me=is_me)


@router.get("/friends", response_class=HTMLResponse)
async def show_friends(request: Request) -> Response:
    viewer = await _logged_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    async with get_runtime(request).database.transaction(write=False) as db:
        mood = await moments.current_mood(db, viewer_id=viewer.me.id, user_id=viewer.me.id)
        friend_count = (await graph.stats_of(db, viewer.me.id)).friends
    return render(request, "friends.html", viewer=viewer, locale=pick_locale(request, viewer), title="friends.title",
                  tab="friends", mood=mood_read(mood) if mood else None, friend_count=friend_count)


@router.get("/friends/add", response_class=HTMLResponse)
async def show_add_friends(request: Request, q: Annotated[str, Query(max_length=40)] = "") -> Response:
    viewer = await _logged_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    return render(request, "friends_add.html", viewer=viewer, locale=pick_locale(request, viewer),
                  title="friends.add_title", tab="friends", query=q.replace("\x00", ""))


@router.get("/me/requests", response_class=HTMLResponse)
async def show_requests(request: Request) -> Response:
    viewer = await _logged_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    return render(request, "requests.html", viewer=viewer, locale=pick_locale(request, viewer),
                  title="requests.title", tab="me")


@router.get("/daily/new", response_class=HTMLResponse)
async def show_new_daily(request: Request) -> Response:
    viewer = await _logged_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    settings = get_runtime(request).settings
    return render(request, "daily_new.html", viewer=viewer, locale=pick_locale(request, viewer),
                  title="daily.new_title", tab="friends", max_photo=settings.max_daily_photo_bytes,
                  max_bytes=settings.max_upload_bytes, max_chunk=settings.max_upload_chunk_bytes,
                  max_seconds=int(settings.max_daily_seconds))


@router.get("/u/{handle}/daily", response_class=HTMLResponse)
async def show_daily(request: Request, handle: Handle) -> Response:
    viewer = await _logged_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    locale = pick_locale(request, viewer)
    runtime = get_runtime(request)
    from shua.social.moments_routes import daily_reads

    try:
        if not _plausible_ref(handle):
            raise UserNotFound()
        async with runtime.database.transaction(write=False) as db:
            user = await visible_user(db, viewer_id=viewer.me.id, ref=handle)
            posts = await daily_reads(db, runtime, viewer_id=viewer.me.id, posts=await moments.daily_of(
                db, viewer_id=viewer.me.id, author_id=user.id))
    except UserNotFound:
        return error_page(request, viewer, locale, status=404, kind="notfound.user", icon="search")
    if not posts:
        return error_page(request, viewer, locale, status=404, kind="notfound.daily", icon="friends")
    return render(request, "daily.html", viewer=viewer, locale=locale, title="daily.title", tab="friends",
                  author=accounts.to_user_read(user), posts=[p.model_dump(mode="json") for p in posts],
                  is_me=user.id == viewer.me.id)


@router.get("/mood", response_class=HTMLResponse)
async def show_mood(request: Request) -> Response:
    viewer = await _logged_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    async with get_runtime(request).database.transaction(write=False) as db:
        mood = await moments.current_mood(db, viewer_id=viewer.me.id, user_id=viewer.me.id)
    return render(request, "mood.html", viewer=viewer, locale=pick_locale(request, viewer), title="mood.title",
                  tab="friends", mood=mood_read(mood) if mood else None, tags=moments.MOOD_TAGS)
