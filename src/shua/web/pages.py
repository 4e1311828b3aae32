"""Server-rendered pages of the web client. Each page is an HTML shell rendered with the viewer
and their language already known (a fast first paint with no flash of the wrong language);
the ES modules in client/static add the behaviour and talk to /api/v1 like any other client."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shua import __version__
from shua.accounts import service as accounts
from shua.accounts.errors import UserNotFound
from shua.accounts.schemas import HANDLE_RE, MeRead, UserRead
from shua.commerce import routes as commerce_routes
from shua.commerce.carts import CartNotFound
from shua.commerce.errors import ProductNotFound
from shua.core import clock, notify
from shua.core.errors import InvalidRequest
from shua.core.i18n import LOCALES, catalog, negotiate, translator
from shua.feed import interests
from shua.feed import routes as feed_routes
from shua.media import videos
from shua.media.categories import CATEGORIES
from shua.media.routes import VideoRead, video_read, video_reads
from shua.social import engagement, graph, inbox, messaging, moments, notifications
from shua.social.errors import NotAllowed, YouBlockedThem
from shua.social.messaging_schemas import ConversationPage, MessagePage, NotificationPage
from shua.social.messaging_views import message_reads, notification_reads, thread_reads, unread_read
from shua.social.routes import visible_user
from shua.web.deps import SESSION_COOKIE, csrf_token_for, get_runtime

router = APIRouter(include_in_schema=False)

TEMPLATES_DIR = Path(__file__).parent / "client" / "templates"
LANG_COOKIE = "shua_lang"
# Only these catalogue entries are shipped to the browser; the rest are rendered here.
CLIENT_PREFIXES = ("error.", "js.")

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,  # every template, whatever its extension: user text is always escaped
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# The catalogue goes out as a JSON data block; keep Chinese readable (<>&' are still escaped).
_env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
_env.globals["categories"] = CATEGORIES  # the post and edit forms' category picker


def yuan(fen: int, signed: bool = False) -> str:
    """Minor units as money: 123456 → ¥1,234.56 (signed: +¥… / −¥…)."""
    sign = ("+" if fen > 0 else "−" if fen < 0 else "") if signed else ("−" if fen < 0 else "")
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


_env.filters["yuan"] = yuan
_env.filters["minute"] = lambda value: value.strftime("%Y-%m-%d %H:%M")  # UTC, as statements are


@dataclass(frozen=True)
class Viewer:
    """The logged-in user of a page, copied out of the read transaction."""

    me: MeRead
    session_id: int
    csrf_token: str
    unread: int = 0  # the 消息 badge in the tab bar

    @property
    def unread_label(self) -> str:
        return "99+" if self.unread > 99 else str(self.unread)

    @property
    def is_admin(self) -> bool:
        return self.me.role == "admin"


async def current_viewer(request: Request) -> Viewer | None:
    """The user behind the session cookie; a missing, expired or forged cookie means logged out."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    runtime = get_runtime(request)
    async with runtime.database.transaction(write=False) as db:
        resolved = await accounts.resolve_session(db, token=token)
        if resolved is None:
            return None
        session, user = resolved
        me, session_id = accounts.to_me_read(user), session.id
        unread = (await inbox.unread_of(db, user.id)).total
    return Viewer(me=me, session_id=session_id, csrf_token=csrf_token_for(runtime, session_id), unread=unread)


def pick_locale(request: Request, viewer: Viewer | None) -> str:
    """The language switch (cookie) wins, then the account's language, then Accept-Language."""
    cookie = request.cookies.get(LANG_COOKIE)
    preferred = cookie if cookie in LOCALES else (viewer.me.locale if viewer else None)
    default = get_runtime(request).settings.default_locale
    return negotiate(request.headers.get("accept-language"), preferred=preferred, default=default)


def safe_next(value: str | None, default: str = "/me") -> str:
    """Where to go after logging in: a path on this site, never `//host` or a full URL."""
    if not value or len(value) > 1000 or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return default  # browsers read "/\evil.com" as "//evil.com"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(("/login", "/signup")):
        return default
    return value


def login_redirect(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': safe_next(here, '/')})}", status_code=303)


def format_date(value: date, locale: str) -> str:
    if locale == "zh-CN":
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{calendar.month_name[value.month]} {value.day}, {value.year}"


def avatar_initial(user: UserRead) -> str:
    name = (user.nickname or user.handle).strip()
    return name[:1].upper() or "?"


def avatar_tone(user: UserRead) -> int:
    """One of six placeholder colours, stable per user."""
    return user.id % 6


def compact_number(value: int, locale: str) -> str:
    """1.2万 / 12K: how big counts are shown on profiles and buttons."""
    if locale == "zh-CN":
        if value >= 100_000_000:
            return f"{value / 100_000_000:.1f}".rstrip("0").rstrip(".") + "亿"
        if value >= 10_000:
            return f"{value / 10_000:.1f}".rstrip("0").rstrip(".") + "万"
        return str(value)
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if value >= limit:
            return f"{value / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return str(value)


def _client_catalog(locale: str) -> dict[str, str]:
    merged = {**catalog("en"), **catalog(locale)}
    return {k: v for k, v in merged.items() if k.startswith(CLIENT_PREFIXES)}


def render(
    request: Request, template: str, *, viewer: Viewer | None, locale: str, title: str,
    tab: str | None = None, status: int = 200, **context: Any,
) -> HTMLResponse:
    t: Callable[[str], str] = translator(locale)
    html = _env.get_template(template).render(
        viewer=viewer, me=viewer.me if viewer else None, locale=locale, t=t,
        title=t(title), tab=tab, version=__version__, client_catalog=_client_catalog(locale),
        format_date=lambda d: format_date(d, locale), avatar_initial=avatar_initial,
        avatar_tone=avatar_tone, compact=lambda n: compact_number(n, locale), **context,
    )
    headers = {
        "Vary": "Cookie, Accept-Language",
        # Personal pages carry a CSRF token and private data: never keep them in a cache.
        "Cache-Control": "no-store" if viewer else "no-cache",
    }
    return HTMLResponse(html, status_code=status, headers=headers)


def error_page(
    request: Request, viewer: Viewer | None, locale: str, *, status: int, kind: str, icon: str
) -> HTMLResponse:
    """A friendly HTML error (the API's problem+json is for programs, not people)."""
    title = kind.split(".")[0] + ".title"
    return render(request, "error.html", viewer=viewer, locale=locale, title=title, status=status,
                  icon=icon, heading=f"{kind}_title", body=f"{kind}_body")


async def _page(
    request: Request, template: str, *, title: str, tab: str | None = None, login: bool = False,
    **context: Any,
) -> Response:
    viewer = await current_viewer(request)
    if login and viewer is None:
        return login_redirect(request)
    return render(request, template, viewer=viewer, locale=pick_locale(request, viewer),
                  title=title, tab=tab, **context)


@router.get("/", response_class=HTMLResponse)
async def show_home(request: Request, feed: Annotated[str, Query(max_length=20)] = "for_you") -> Response:
    """For You (or Following), its first page inlined so the first video starts without a round trip."""
    viewer = await current_viewer(request)
    chosen: feed_routes.Tab = "following" if feed == "following" else "for_you"
    if chosen == "following" and viewer is None:
        return login_redirect(request)
    runtime = get_runtime(request)
    async with runtime.database.transaction(write=False) as db:
        page = await feed_routes.feed_page(db, runtime, viewer_id=viewer.me.id if viewer else None, cursor=None,
                                           tab=chosen)
        # A viewer who never answered is offered the interests picker (once answered, never again).
        ask_interests = (viewer is not None and chosen == "for_you" and bool(page.items)
                         and await interests.chosen(db, viewer.me.id) is None)
    return render(request, "home.html", viewer=viewer, locale=pick_locale(request, viewer),
                  title="home.following" if chosen == "following" else "home.title", tab="home",
                  page=page.model_dump(mode="json"), feed_tab=chosen, ask_interests=ask_interests)


@router.get("/create", response_class=HTMLResponse)
async def show_create(request: Request) -> Response:
    settings = get_runtime(request).settings
    return await _page(request, "create.html", title="create.title", tab="create", login=True,
                       max_bytes=settings.max_upload_bytes, max_chunk=settings.max_upload_chunk_bytes)


NextParam = Annotated[str | None, Query(alias="next")]


async def _auth_page(request: Request, template: str, title: str, next_: str | None) -> Response:
    viewer = await current_viewer(request)
    target = safe_next(next_)
    if viewer is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, template, viewer=None, locale=pick_locale(request, None), title=title,
                  tab="me", next=target)


@router.get("/login", response_class=HTMLResponse)
async def show_login(request: Request, next_: NextParam = None) -> Response:
    return await _auth_page(request, "login.html", "login.title", next_)


@router.get("/signup", response_class=HTMLResponse)
async def show_signup(request: Request, next_: NextParam = None) -> Response:
    return await _auth_page(request, "signup.html", "signup.title", next_)


@router.get("/me", response_class=HTMLResponse)
async def show_me(request: Request) -> Response:
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    runtime = get_runtime(request)
    async with runtime.database.transaction(write=False) as db:
        works = await video_reads(db, runtime, await videos.list_own_videos(db, owner_id=viewer.me.id),
                                  viewer_id=viewer.me.id)
        stats = await graph.stats_of(db, viewer.me.id)
        mood = await moments.current_mood(db, viewer_id=viewer.me.id, user_id=viewer.me.id)
        counts = {"following": stats.following, "followers": stats.followers, "friends": stats.friends,
                  "likes": stats.likes_received, "requests": stats.pending_requests}
    return render(request, "me.html", viewer=viewer, locale=pick_locale(request, viewer), title="me.title",
                  tab="me", works=works, counts=counts, mood=mood,
                  mood_emoji=moments.MOOD_TAGS.get(mood.tag, "") if mood else "")


@router.get("/me/favourites", response_class=HTMLResponse)
async def show_favourites(
    request: Request, collection: Annotated[str | None, Query(alias="c", max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    """My favourites (收藏), one collection at a time, newest first."""
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    runtime = get_runtime(request)
    locale = pick_locale(request, viewer)
    try:
        async with runtime.database.transaction(write=False) as db:
            folders, _ = await engagement.list_collections(db, owner_id=viewer.me.id, viewer_id=viewer.me.id,
                                                           cursor=None, limit=100)
            chosen = next((f.collection for f in folders if str(f.collection.id) == collection),
                          folders[0].collection if folders and collection is None else None)
            if collection is not None and chosen is None:
                raise engagement.CollectionNotFound()
            page = (await engagement.list_favourites(db, viewer_id=viewer.me.id, owner_id=viewer.me.id,
                                                     collection_id=chosen.id, cursor=cursor)
                    if chosen else engagement.FavouritesPage(videos=[], next_cursor=None))
            works = await video_reads(db, runtime, page.videos, viewer_id=viewer.me.id)
    except (engagement.CollectionNotFound, InvalidRequest):
        return error_page(request, viewer, locale, status=404, kind="notfound.collection", icon="search")
    return render(request, "favourites.html", viewer=viewer, locale=locale, title="favourites.title", tab="me",
                  folders=folders, chosen=chosen, works=works, next_cursor=page.next_cursor)


@router.get("/me/edit", response_class=HTMLResponse)
async def show_me_edit(request: Request) -> Response:
    return await _page(request, "me_edit.html", title="edit.title", tab="me", login=True)


@router.get("/wallet", response_class=HTMLResponse)
async def show_wallet(request: Request) -> Response:
    """钱包: balance, bound cards, the payment password."""
    return await _page(request, "wallet.html", title="wallet.title", tab="me", login=True,
                       dev_inbox=get_runtime(request).settings.dev_inbox, month=clock.utcnow().strftime("%Y-%m"))


@router.get("/dev/inbox", response_class=HTMLResponse)
async def show_dev_inbox(request: Request) -> Response:
    """The demo's stand-in for a phone: the codes and messages the dev notifier 'sent'. Only
    when SHUA_DEV_INBOX is on (`make demo` turns it on); otherwise there is no such page."""
    runtime = get_runtime(request)
    viewer = await current_viewer(request)
    locale = pick_locale(request, viewer)
    if not runtime.settings.dev_inbox:
        return error_page(request, viewer, locale, status=404, kind="notfound.page", icon="search")
    async with runtime.database.transaction(write=False) as db:
        messages = await notify.recent(db)
    return render(request, "dev_inbox.html", viewer=viewer, locale=locale, title="dev_inbox.title",
                  messages=messages)


@router.get("/settings", response_class=HTMLResponse)
async def show_settings(request: Request) -> Response:
    return await _page(request, "settings.html", title="settings.title", tab="me", login=True)


INTEREST_EMOJI = {"food": "🍜", "pets": "🐱", "fitness": "💪", "travel": "🏞️", "fashion": "👗", "dance": "💃",
                  "comedy": "😂", "family": "👶", "countryside": "🌾", "cars": "🚗", "games": "🎮", "daily": "☀️"}


@router.get("/interests", response_class=HTMLResponse)
async def show_interests(request: Request, next_: NextParam = None) -> Response:
    """选择兴趣: the topics a first For You starts from (offered on the feed, kept in settings)."""
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    async with get_runtime(request).database.transaction(write=False) as db:
        chosen = await interests.chosen(db, viewer.me.id)
    return render(request, "interests.html", viewer=viewer, locale=pick_locale(request, viewer),
                  title="interests.title", tab="me", next=safe_next(next_, "/"), chosen=chosen or [],
                  topics=[(key, INTEREST_EMOJI.get(key, "✨")) for key in interests.CATALOGUE])


@router.get("/admin", response_class=HTMLResponse)
async def show_admin(request: Request) -> Response:
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    locale = pick_locale(request, viewer)
    if not viewer.is_admin:
        return error_page(request, viewer, locale, status=403, kind="forbidden.admin", icon="lock")
    return render(request, "admin.html", viewer=viewer, locale=locale, title="admin.title",
                  tab="me")


# Same rules as videos.parse_caption: hashtags may be Chinese, mentions are handles.
_CAPTION_RE = re.compile(r"#[\w\u4e00-\u9fff]{1,40}|@[a-z][a-z0-9_.]{2,23}", re.IGNORECASE)


def caption_parts(caption: str) -> list[tuple[str, str]]:
    """The caption as (kind, text) runs — "text", "tag" or "mention" — for highlighting."""
    parts: list[tuple[str, str]] = []
    at = 0
    for match in _CAPTION_RE.finditer(caption):
        if match.start() > at:
            parts.append(("text", caption[at:match.start()]))
        parts.append(("tag" if match.group().startswith("#") else "mention", match.group()))
        at = match.end()
    if at < len(caption):
        parts.append(("text", caption[at:]))
    return parts


@router.get("/v/{video_id}", response_class=HTMLResponse)
async def show_video(
    request: Request, video_id: Annotated[str, PathParam(max_length=32)]
) -> Response:
    viewer = await current_viewer(request)
    locale = pick_locale(request, viewer)
    runtime = get_runtime(request)
    try:
        async with runtime.database.transaction(write=False) as db:
            viewer_id = viewer.me.id if viewer else None
            video: VideoRead = await video_read(db, runtime, await videos.get_video(
                db, viewer_id=viewer_id, video_id=video_id), viewer_id=viewer_id)
            owner = accounts.to_user_read(await accounts.get_user(db, ref=str(video.owner_id)))
            try:
                cart = await commerce_routes.cart_read(db, int(video.id))
            except (CartNotFound, ProductNotFound):
                cart = None
    except (videos.VideoNotFound, UserNotFound):
        return error_page(request, viewer, locale, status=404, kind="notfound.video", icon="video")
    is_owner = viewer is not None and viewer.me.id == video.owner_id
    failure = None
    if video.failure_code:
        key = f"error.{video.failure_code}"
        failure = translator(locale)(key) if key in catalog("en") else video.failure_reason
    return render(request, "video.html", viewer=viewer, locale=locale, title="video.title",
                  tab="me" if is_owner else None, video=video, owner=owner, is_owner=is_owner,
                  failure=failure, caption=caption_parts(video.caption),
                  renditions=[r.model_dump() for r in video.renditions], video_json=video.model_dump(mode="json"),
                  pool_budgets=runtime.settings.feed_pool_budgets, cart=cart)


# ---------- 消息: the inbox, notifications, message requests and chats ----------
# Each page inlines its first page of data as JSON (correct on reload, no flash of emptiness);
# the ES modules render it, keep it live from /api/v1/live and load more on scroll.

NOTIFICATION_TITLES = {"all": "notifications.title", "followers": "inbox.new_followers",
                       "interactions": "inbox.activity"}


async def _inbox_page(request: Request, template: str, *, title: str, load: Callable[..., Any],
                      **context: Any) -> Response:
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    runtime = get_runtime(request)
    async with runtime.database.transaction(write=False) as db:
        data = await load(db, runtime, viewer.me.id)
        counts = unread_read(await inbox.unread_of(db, viewer.me.id))
    return render(request, template, viewer=viewer, locale=pick_locale(request, viewer), title=title, tab="inbox",
                  unread=counts, **data, **context)


async def _conversations(db: Any, runtime: Any, user_id: int, *, requests: bool) -> dict[str, Any]:
    threads, next_cursor = await messaging.list_threads(db, user_id=user_id, requests=requests)
    items = await thread_reads(db, runtime, viewer_id=user_id, threads=threads)
    return {"page": ConversationPage(items=items, next_cursor=next_cursor).model_dump(mode="json"),
            "has_requests": requests or await messaging.has_requests(db, user_id=user_id)}


@router.get("/inbox", response_class=HTMLResponse)
async def show_inbox(request: Request) -> Response:
    async def load(db: Any, runtime: Any, user_id: int) -> dict[str, Any]:
        return await _conversations(db, runtime, user_id, requests=False)

    return await _inbox_page(request, "inbox.html", title="inbox.title", load=load, requests_page=False)


@router.get("/inbox/requests", response_class=HTMLResponse)
async def show_message_requests(request: Request) -> Response:
    async def load(db: Any, runtime: Any, user_id: int) -> dict[str, Any]:
        return await _conversations(db, runtime, user_id, requests=True)

    return await _inbox_page(request, "inbox.html", title="inbox.requests", load=load, requests_page=True)


@router.get("/inbox/notifications", response_class=HTMLResponse)
async def show_notifications(request: Request,
                             category: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    chosen = category if category in NOTIFICATION_TITLES else "all"

    async def load(db: Any, _runtime: Any, user_id: int) -> dict[str, Any]:
        rows, next_cursor = await notifications.list_notifications(db, user_id=user_id, category=chosen)
        items = await notification_reads(db, rows=rows)
        return {"page": NotificationPage(items=items, next_cursor=next_cursor).model_dump(mode="json")}

    return await _inbox_page(request, "notifications.html", title=NOTIFICATION_TITLES[chosen], load=load,
                             category=chosen)


@router.get("/inbox/c/{conversation_id}", response_class=HTMLResponse)
async def show_chat(request: Request, conversation_id: Annotated[str, PathParam(max_length=32)]) -> Response:
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    locale = pick_locale(request, viewer)
    runtime = get_runtime(request)
    try:
        async with runtime.database.transaction(write=False) as db:
            thread, rows, next_cursor = await messaging.list_messages(db, user_id=viewer.me.id,
                                                                      conversation_id=conversation_id)
            conversation = (await thread_reads(db, runtime, viewer_id=viewer.me.id, threads=[thread]))[0]
            page = MessagePage(items=await message_reads(db, runtime, viewer_id=viewer.me.id, messages=rows),
                               next_cursor=next_cursor)
    except messaging.ConversationNotFound:
        return error_page(request, viewer, locale, status=404, kind="notfound.conversation", icon="inbox")
    return render(request, "chat.html", viewer=viewer, locale=locale, title="inbox.title", tab="inbox",
                  conversation=conversation, chat={"conversation": conversation.model_dump(mode="json"),
                                                   "page": page.model_dump(mode="json")})


@router.get("/inbox/new", response_class=HTMLResponse)
async def start_chat(request: Request, to: Annotated[str, Query(max_length=64)] = "") -> Response:
    """Open (or start) the conversation with a user, from the 私信 button on a profile."""
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    locale = pick_locale(request, viewer)
    try:
        if not (HANDLE_RE.match(to.lower()) or (to.isascii() and to.isdigit() and len(to) <= 19)):
            raise UserNotFound()
        # Idempotent and invisible until a message is sent: safe behind a link.
        async with get_runtime(request).database.transaction() as db:
            peer = await visible_user(db, viewer_id=viewer.me.id, ref=to)
            thread = await messaging.open_conversation(db, user_id=viewer.me.id, peer_id=peer.id)
    except UserNotFound:
        return error_page(request, viewer, locale, status=404, kind="notfound.user", icon="search")
    except (NotAllowed, YouBlockedThem, messaging.CannotMessageSelf):
        return error_page(request, viewer, locale, status=403, kind="forbidden.message", icon="lock")
    return RedirectResponse(f"/inbox/c/{thread.id}", status_code=303)
