"""Resumable uploads over the tus 1.0 protocol (core, creation, termination).

A client: POST /api/v1/uploads with `Upload-Length` → 201 + Location; then PATCH chunks with
`Upload-Offset` and `Content-Type: application/offset+octet-stream`; after an interruption,
HEAD tells the offset to resume from. Every request carries `Tus-Resumable: 1.0.0`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import posixpath
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from shua.core.errors import InvalidRequest, ShuaError, UnsupportedMediaType
from shua.core.ids import ID
from shua.core.storage import InvalidKey, LocalStorage, Storage
from shua.core.text import Line, Paragraph
from shua.feed import pools
from shua.feed.events_schemas import PoolStageRead
from shua.media import playback, poster, uploads, videos
from shua.media.categories import Category
from shua.media.models import DELETED, Video, is_watchable
from shua.runtime import Runtime
from shua.social import engagement, graph
from shua.social.engagement_schemas import VideoMeRead, VideoStatsRead
from shua.web.deps import DB, AdminAuth, CurrentAuth, MaybeAuth, RuntimeDep, StreamingAuth

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"])
TUS_VERSION = "1.0.0"
CHUNK_TYPE = "application/offset+octet-stream"
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": "Problem", "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 409, 410, 412, 413, 415, 422, 429)
}


class TusVersionMismatch(ShuaError):
    code = "media.tus_version"
    status = 412
    title = "Send Tus-Resumable: 1.0.0"


class UploadRead(BaseModel):
    id: ID
    length: int
    offset: int
    filename: str
    created_at: datetime
    expires_at: datetime
    completed: bool


def _tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def _require_tus(version: str | None) -> None:
    if version != TUS_VERSION:
        error = TusVersionMismatch()
        error.headers["Tus-Version"] = TUS_VERSION
        raise error


def _metadata(raw: str | None) -> dict[str, str]:
    """Parse `Upload-Metadata: key base64value,key2 base64value2`."""
    values: dict[str, str] = {}
    for pair in (raw or "").split(","):
        if not pair.strip():
            continue
        key, _, encoded = pair.strip().partition(" ")
        try:
            values[key] = base64.b64decode(encoded, validate=True).decode("utf-8") if encoded else ""
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidRequest("Upload-Metadata values must be base64 UTF-8", field=key[:40]) from exc
    return values


def _read(upload: Any) -> UploadRead:
    return UploadRead(id=upload.id, length=upload.length, offset=upload.offset, filename=upload.filename,
                      created_at=upload.created_at, expires_at=upload.expires_at,
                      completed=upload.completed_at is not None)


@router.options("", status_code=status.HTTP_204_NO_CONTENT)
async def describe_uploads(runtime: RuntimeDep) -> Response:
    """What this server supports (tus discovery)."""
    return Response(status_code=204, headers=_tus_headers(
        **{"Tus-Version": TUS_VERSION, "Tus-Extension": "creation,termination",
           "Tus-Max-Size": str(runtime.settings.max_upload_bytes)}))


@router.post("", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def create_upload(
    auth: CurrentAuth, db: DB, runtime: RuntimeDep, response: Response,
    upload_length: Annotated[int, Header(ge=1, le=2**62)],
    tus_resumable: Annotated[str | None, Header()] = None,
    upload_metadata: Annotated[str | None, Header(max_length=4096)] = None,
) -> UploadRead:
    """Start a resumable upload of `Upload-Length` bytes."""
    _require_tus(tus_resumable)
    meta = _metadata(upload_metadata)
    upload = await uploads.create_upload(
        db, owner_id=auth.user.id, length=upload_length, filename=meta.get("filename", ""),
        content_type=meta.get("filetype", ""), max_bytes=runtime.settings.max_upload_bytes,
        ttl=timedelta(hours=runtime.settings.upload_ttl_hours), var_dir=runtime.settings.var_dir,
    )
    response.headers.update(_tus_headers(Location=f"/api/v1/uploads/{upload.id}", **{"Upload-Offset": "0"}))
    return _read(upload)


@router.head("/{upload_id}", status_code=status.HTTP_200_OK, responses=PROBLEMS)
async def upload_offset(upload_id: ID, auth: CurrentAuth, db: DB,
                        tus_resumable: Annotated[str | None, Header()] = None) -> Response:
    """Where to resume: the committed `Upload-Offset`."""
    _require_tus(tus_resumable)
    upload = await uploads.get_upload(db, owner_id=auth.user.id, upload_id=upload_id)
    return Response(status_code=200, headers=_tus_headers(
        **{"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length)}))


@router.get("/{upload_id}", responses=PROBLEMS)
async def read_upload(upload_id: ID, auth: CurrentAuth, db: DB) -> UploadRead:
    """An upload's progress as JSON."""
    return _read(await uploads.get_upload(db, owner_id=auth.user.id, upload_id=upload_id))


@router.patch("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def append_chunk(
    upload_id: ID, request: Request, auth: StreamingAuth, runtime: RuntimeDep,
    upload_offset: Annotated[int, Header(ge=0, le=2**62)],
    tus_resumable: Annotated[str | None, Header()] = None,
    content_type: Annotated[str | None, Header()] = None,
) -> Response:
    """Append the chunk starting at `Upload-Offset`."""
    _require_tus(tus_resumable)
    if (content_type or "").split(";")[0].strip().lower() != CHUNK_TYPE:
        raise UnsupportedMediaType(f"Send chunks as {CHUNK_TYPE}", expected=CHUNK_TYPE)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in request.stream():
                if chunk:
                    yield chunk
        except ClientDisconnect:
            return  # keep what arrived; the client resumes from HEAD's offset

    upload = await uploads.append_chunk(
        runtime.database, owner_id=auth.user.id, upload_id=upload_id, offset=upload_offset,
        chunks=body(), var_dir=runtime.settings.var_dir, storage=runtime.storage,
    )
    return Response(status_code=204, headers=_tus_headers(**{"Upload-Offset": str(upload.offset)}))


@router.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def delete_upload(upload_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep,
                        tus_resumable: Annotated[str | None, Header()] = None) -> Response:
    """Abandon an upload (tus termination)."""
    _require_tus(tus_resumable)
    await uploads.delete_upload(db, runtime.storage, owner_id=auth.user.id, upload_id=upload_id,
                                var_dir=runtime.settings.var_dir)
    return Response(status_code=204, headers=_tus_headers())


videos_router = APIRouter(prefix="/api/v1", tags=["videos"])
Visibility = Literal["public", "friends", "private"]
Caption = Paragraph(2200)
CoverText = Line(40)


class VideoCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upload_id: ID
    caption: Caption = ""  # type: ignore[valid-type]
    visibility: Visibility = "public"
    allow_comments: bool = True
    allow_duets: bool = True
    cover_ms: int = Field(0, ge=0, le=36_000_000, description="Poster frame, ms from the start")
    category: Category | None = Field(None, description="What it is about (searched, like the caption)")
    cover_text: CoverText = Field("", description="The title shown over the cover")  # type: ignore[valid-type]


class VideoUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    caption: Caption | None = None  # type: ignore[valid-type]
    category: Category | None = Field(None, description="null clears it; leave it out to keep it")
    cover_text: CoverText | None = None  # type: ignore[valid-type]
    visibility: Visibility | None = None
    allow_comments: bool | None = None
    allow_duets: bool | None = None


class RenditionRead(BaseModel):
    name: str
    width: int | None
    height: int | None
    bit_rate: int | None
    url: str


class SpriteRead(BaseModel):
    """Scrubbing thumbnails in one JPEG: tile i (at column i % columns, row i // columns) shows
    the moment duration × (i + 0.5) / count."""

    url: str
    count: int
    columns: int
    tile_width: int
    tile_height: int


class VideoRead(BaseModel):
    id: ID
    owner_id: ID
    caption: str
    hashtags: list[str]
    mentions: list[str]
    category: str | None
    cover_text: str
    removed: bool = Field(description="Taken down by a moderator (only its creator still sees it)")
    removal_reason: str | None
    visibility: str
    allow_comments: bool
    allow_duets: bool
    status: str = Field(description="uploaded → probing → transcoding → ready | failed")
    failure_code: str | None
    failure_reason: str | None
    duration_ms: int | None
    width: int | None
    height: int | None
    playable: bool
    created_at: datetime
    poster_url: str | None
    hls_url: str | None
    sprite: SpriteRead | None
    renditions: list[RenditionRead]
    stats: VideoStatsRead = Field(default_factory=VideoStatsRead, description="Likes, comments, shares, favourites")
    me: VideoMeRead = Field(default_factory=VideoMeRead, description="Whether you liked and favourited it")
    pool: PoolStageRead | None = Field(None, description="Its traffic-pool stage: shown to its creator only")


def _url(runtime: Runtime, video: Video, key: str, open_url: bool) -> str:
    return playback.playback_path(runtime.settings.secret_key, video, key, open_url=open_url)


async def video_read(db: AsyncSession, runtime: Runtime, video: Video, *, viewer_id: int | None = None) -> VideoRead:
    """The API view of a video, with playback URLs the viewer may use (shared with the pages)."""
    return (await video_reads(db, runtime, [video], viewer_id=viewer_id))[0]


async def video_reads(db: AsyncSession, runtime: Runtime, items: list[Video], *,
                      viewer_id: int | None = None) -> list[VideoRead]:
    """The API views of several videos: their files, counters and the viewer's likes and
    favourites fetched in one query each, whatever the number of videos."""
    ids = [v.id for v in items]
    files = await videos.files_of_many(db, video_ids=ids)
    # A private account's public videos are for approved followers: signed URLs, like private ones.
    closed = await graph.private_accounts_among(db, list({v.owner_id for v in items}))
    stats = await engagement.stats_of_many(db, ids)
    states = await engagement.viewer_states(db, viewer_id=viewer_id, video_ids=ids)
    stages = await pools.stage_of_many(db, [v.id for v in items if viewer_id is not None and v.owner_id == viewer_id])
    reads = []
    for v in items:
        read = _to_read(runtime, v, files[v.id], v.owner_id not in closed)
        s, me = stats[v.id], states[v.id]
        read.stats = VideoStatsRead(likes=s.likes, comments=s.comments, shares=s.shares, favourites=s.favourites)
        read.me = VideoMeRead(liked=me.liked, favourited=me.favourited, collection_id=me.collection_id)
        if v.id in stages:
            stage = stages[v.id]
            read.pool = PoolStageRead(stage=stage.stage, status=stage.status,
                                      impressions=stage.impressions, budget=stage.budget)
        reads.append(read)
    return reads


def _to_read(runtime: Runtime, video: Video, files: list[Any], open_url: bool) -> VideoRead:
    def url(key: str) -> str:
        return _url(runtime, video, key, open_url)

    by_kind: dict[str, list[Any]] = {}
    for f in files:
        by_kind.setdefault(f.kind, []).append(f)
    poster_file = by_kind.get("poster", [None])[0]
    hls = by_kind.get("hls", [None])[0]
    sheet = by_kind.get("sprite", [None])[0]
    sprite = SpriteRead(url=url(sheet.key), count=poster.SPRITE_COUNT, columns=poster.SPRITE_COLUMNS,
                        tile_width=sheet.width or 0, tile_height=sheet.height or 0) if sheet else None
    return VideoRead(
        id=video.id, owner_id=video.owner_id, caption=video.caption, hashtags=video.hashtags,
        mentions=video.mentions, category=video.category, cover_text=video.cover_text,
        removed=video.removed_at is not None, removal_reason=video.removal_reason,
        visibility=video.visibility, allow_comments=video.allow_comments,
        allow_duets=video.allow_duets, status=video.status, failure_code=video.failure_code,
        failure_reason=video.failure_reason, duration_ms=video.duration_ms, width=video.width, height=video.height,
        playable=is_watchable(video), created_at=video.created_at,
        poster_url=url(poster_file.key) if poster_file else None,
        hls_url=url(hls.key) if hls else None, sprite=sprite,
        renditions=[RenditionRead(name=f.name, width=f.width, height=f.height, bit_rate=f.bit_rate,
                                  url=url(f.key))
                    for f in sorted(by_kind.get("mp4", []), key=lambda f: f.height or 0)],
    )


@videos_router.post("/videos", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def post_video(body: VideoCreate, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> VideoRead:
    """Post a finished upload with its caption (#hashtags, @mentions) and who may see it."""
    video = await videos.post_video(
        db, owner_id=auth.user.id, upload_id=body.upload_id, caption=body.caption, visibility=body.visibility,
        allow_comments=body.allow_comments, allow_duets=body.allow_duets, cover_ms=body.cover_ms,
        category=body.category, cover_text=body.cover_text,
    )
    return await video_read(db, runtime, video)


@videos_router.get("/videos/{video_id}", responses=PROBLEMS)
async def read_video(video_id: ID, auth: MaybeAuth, db: DB, runtime: RuntimeDep) -> VideoRead:
    """A video: its processing state for the creator, its renditions once playable."""
    viewer_id = auth.user.id if auth else None
    video = await videos.get_video(db, viewer_id=viewer_id, video_id=video_id)
    return await video_read(db, runtime, video, viewer_id=viewer_id)


@videos_router.get("/me/videos", responses=PROBLEMS)
async def list_my_videos(auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> list[VideoRead]:
    """Your videos, newest first, including those still processing or failed."""
    mine = await videos.list_own_videos(db, owner_id=auth.user.id)
    return await video_reads(db, runtime, mine, viewer_id=auth.user.id)


@videos_router.patch("/videos/{video_id}", responses=PROBLEMS)
async def edit_video(video_id: ID, body: VideoUpdate, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> VideoRead:
    """Edit the caption, category, cover text, visibility, or whether comments and duets are allowed."""
    video = await videos.edit_video(db, owner_id=auth.user.id, video_id=video_id, **body.model_dump(exclude_unset=True))
    return await video_read(db, runtime, video, viewer_id=auth.user.id)


@videos_router.delete("/videos/{video_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def delete_video(video_id: ID, auth: CurrentAuth, db: DB) -> None:
    """Delete a video; its files are removed from storage by a job."""
    await videos.delete_video(db, owner_id=auth.user.id, video_id=video_id)


admin_router = APIRouter(prefix="/api/v1/admin/videos", tags=["admin"])
RemovalReason = Literal["spam", "harassment", "hate", "violence", "sexual", "minor_safety", "scam", "copyright",
                        "misinformation", "other"]


class TakeDown(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: RemovalReason


class ModerationRead(BaseModel):
    video_id: ID
    owner_id: ID
    removed: bool
    removal_reason: str | None


def _moderation_read(video: Video) -> ModerationRead:
    return ModerationRead(video_id=video.id, owner_id=video.owner_id, removed=video.removed_at is not None,
                          removal_reason=video.removal_reason)


@admin_router.put("/{video_id}/removal", responses=PROBLEMS)
async def take_down(video_id: ID, body: TakeDown, auth: AdminAuth, db: DB) -> ModerationRead:
    """Take a video down (administrators): gone from feeds, search, profiles and playback for
    everyone but its creator, who sees the reason. Taking it down again changes nothing. Audited."""
    return _moderation_read(await videos.take_down(db, video_id=video_id, reason=body.reason, actor_id=auth.user.id))


@admin_router.delete("/{video_id}/removal", responses=PROBLEMS)
async def restore(video_id: ID, auth: AdminAuth, db: DB) -> ModerationRead:
    """Put a taken-down video back (administrators). Audited."""
    return _moderation_read(await videos.restore(db, video_id=video_id, actor_id=auth.user.id))


playback_router = APIRouter(tags=["videos"])
CONTENT_TYPES = {".mp4": "video/mp4", ".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t",
                 ".m4s": "video/iso.segment", ".jpg": "image/jpeg"}


async def _serve(runtime: Runtime, db: AsyncSession, video_id: int, rest: str, *, signed: bool) -> Response:
    video = await db.get(Video, video_id)
    if video is None or video.status == DELETED:
        raise videos.VideoNotFound()
    if not signed and (not playback.is_public(video) or await graph.private_accounts_among(db, [video.owner_id])):
        raise videos.VideoNotFound()
    key = f"{videos.storage_prefix(video_id)}{rest}"
    storage = runtime.storage
    try:
        if not isinstance(storage, LocalStorage):  # object storage: fetch from there (CDN or presigned)
            if key.endswith(".m3u8"):
                return await _object_playlist(storage, key, signed=signed)
            url = storage.url(key, expires_in=3600 if signed else None)
            return RedirectResponse(url or "/", status_code=307, headers={"Cache-Control": "private, max-age=60"})
        path = storage.path_for(key)
    except InvalidKey as exc:
        raise videos.VideoNotFound() from exc
    if not await asyncio.to_thread(path.is_file):
        raise videos.VideoNotFound()
    cache = "public, max-age=86400" if not signed else "private, max-age=3600"
    # FileResponse answers Range requests with 206 and sets ETag/Last-Modified.
    return FileResponse(path, media_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
                        headers={"Cache-Control": cache, "Accept-Ranges": "bytes"})


_MAP_URI = re.compile(r'(#EXT-X-MAP:.*URI=")([^"]+)(")')


async def _object_playlist(storage: Storage, key: str, *, signed: bool) -> Response:
    """An HLS playlist from object storage, rewritten so every segment URI points at storage
    itself (the CDN, or a presigned URL). A player resolves segment URIs relative to the playlist,
    and a presigned query string does not carry over to them: without this, private videos on a
    bucket with no public CDN would not play. Variant playlists stay relative: they come back here
    under the same (signed or public) prefix and get the same treatment. Keys outside the video's
    folder are never signed."""
    data = await storage.get(key)
    if data is None:
        raise videos.VideoNotFound()
    folder, prefix = posixpath.dirname(key), key.split("/", 2)
    video_prefix = f"{prefix[0]}/{prefix[1]}/"

    def absolute(uri: str) -> str:
        if "://" in uri or uri.endswith(".m3u8"):
            return uri
        target = posixpath.normpath(posixpath.join(folder, uri))
        if not target.startswith(video_prefix):
            raise videos.VideoNotFound()
        return storage.url(target, expires_in=3600 if signed else None) or uri

    lines = []
    for line in data.decode("utf-8").splitlines():
        if line.startswith("#EXT-X-MAP:"):
            line = _MAP_URI.sub(lambda m: m.group(1) + absolute(m.group(2)) + m.group(3), line)
        elif line.strip() and not line.startswith("#"):
            line = absolute(line.strip())
        lines.append(line)
    return Response("\n".join(lines) + "\n", media_type="application/vnd.apple.mpegurl",
                    headers={"Cache-Control": "private, max-age=60"})


@playback_router.get("/media/videos/{video_id}/{rest:path}", response_class=Response, responses=PROBLEMS)
async def play_public(video_id: ID, rest: Annotated[str, PathParam(max_length=200)], db: DB,
                      runtime: RuntimeDep) -> Response:
    """A public, ready video's file (MP4 rendition, HLS playlist or segment, poster)."""
    return await _serve(runtime, db, video_id, rest, signed=False)


@playback_router.get("/media/s/{token}/videos/{video_id}/{rest:path}", response_class=Response, responses=PROBLEMS)
async def play_signed(token: Annotated[str, PathParam(max_length=80)], video_id: ID,
                      rest: Annotated[str, PathParam(max_length=200)], db: DB,
                      runtime: RuntimeDep) -> Response:
    """Any video's file, behind an expiring signature handed out with the video."""
    if not playback.token_valid(runtime.settings.secret_key, video_id, token):
        raise videos.VideoNotFound()
    return await _serve(runtime, db, video_id, rest, signed=True)
