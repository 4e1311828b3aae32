"""The processing job: probe and validate, transcode the ladder (lowest rung first, published with
its poster as soon as it exists so the video plays early), then the other rungs, HLS and the
scrubbing sprite; store everything.

Heavy work runs in a process pool (PyAV holds the GIL for much of an encode). Every step is
idempotent, so a job re-run after a crash starts over cleanly; a video whose processing keeps
crashing is marked failed after MAX_ATTEMPTS, never left "processing" forever.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete

from shua.config import Settings
from shua.core import clock, jobs
from shua.core.db import Database
from shua.core.errors import InvalidRequest
from shua.core.storage import LocalStorage, Storage
from shua.media import poster, probe, transcode
from shua.media.models import DAILY, DELETED, FAILED, PROBING, READY, TRANSCODING, Upload, Video, VideoFile
from shua.media.uploads import part_path, remove_bytes, staged_key
from shua.media.videos import storage_prefix

MAX_ATTEMPTS = 3
T = TypeVar("T")
_pool: ProcessPoolExecutor | None = None


def _executor(workers: int) -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # spawn: a forked child would inherit the event loop, sockets and locks of the server.
        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    return _pool


async def _in_process(settings: Settings, fn: Callable[..., T], *args: Any) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(settings.transcode_processes), fn, *args)


async def _set(database: Database, video_id: int, **values: Any) -> Video | None:
    async with database.transaction() as db:
        video = await db.get(Video, video_id)
        if video is None or video.status == DELETED:
            return None
        for name, value in values.items():
            setattr(video, name, value)
        video.updated_at = clock.utcnow()
        return video


async def _store(database: Database, storage: Storage, video_id: int, path: Path, *, kind: str, name: str,
                 content_type: str, **facts: Any) -> VideoFile:
    key = f"{storage_prefix(video_id)}{name}{path.suffix}"
    await storage.put_file(key, path, content_type=content_type)
    async with database.transaction() as db:
        await db.execute(delete(VideoFile).where(VideoFile.video_id == video_id, VideoFile.kind == kind,
                                                 VideoFile.name == name))
        size = (await asyncio.to_thread(path.stat)).st_size
        row = VideoFile(video_id=video_id, kind=kind, name=name, key=key, size_bytes=size, **facts)
        db.add(row)
    return row


class SourceMissing(InvalidRequest):
    code = "media.source_missing"
    title = "The video's source file is gone; upload it again"


async def _source(storage: Storage, settings: Settings, video: Video, work: Path) -> Path:
    """The file to encode: the upload (on this host's disk, or staged in object storage by the
    API host that received it), else the kept original, else the best stored rendition (a
    reprocess without originals re-encodes from the top rung)."""
    if video.upload_id is not None:
        upload = part_path(settings.var_dir, video.upload_id)
        if await asyncio.to_thread(upload.exists):
            return upload
        if not isinstance(storage, LocalStorage):
            fetched = work / "upload"
            if await storage.get_file(staged_key(video.upload_id), fetched):
                return fetched
    return await _stored_source(storage, video, work)


async def _stored_source(storage: Storage, video: Video, work: Path) -> Path:
    candidates = [f"{storage_prefix(video.id)}original"]
    candidates += [f"{storage_prefix(video.id)}{name}.mp4" for name in ("1080p", "720p", "540p", "360p")]
    for key in candidates:
        data = await storage.get(key)
        if data:
            target = work / "source.mp4"
            await asyncio.to_thread(target.write_bytes, data)
            return target
    raise SourceMissing()


async def process_video(database: Database, storage: Storage, settings: Settings, *, video_id: int,
                        reprocess: bool = False) -> None:
    async with database.transaction(write=False) as db:
        video = await db.get(Video, video_id)
    if video is None or video.status == DELETED:
        return
    if video.ready_at is not None and not reprocess:
        return  # a re-delivered job for a finished video
    attempts = video.process_attempts + 1
    await _set(database, video_id, status=PROBING, process_attempts=attempts)
    work = Path(tempfile.mkdtemp(prefix=f"shua-video-{video_id}-", dir=settings.var_dir))
    try:
        source = await _source(storage, settings, video, work)
        limit = settings.max_daily_seconds if video.purpose == DAILY else settings.max_video_seconds
        await _run(database, storage, settings, video_id=video_id, source=source, work=work,
                   cover_ms=video.cover_ms, max_seconds=limit)
    except InvalidRequest as exc:  # the file itself is unusable: tell the creator, don't retry
        await _set(database, video_id, status=FAILED, failure_code=exc.code, failure_reason=exc.message[:300])
        if video.upload_id is not None:
            await _discard_upload(database, storage, settings, video.upload_id)
    except Exception:
        if attempts >= MAX_ATTEMPTS:
            await _set(database, video_id, status=FAILED, failure_code="media.processing_failed",
                       failure_reason="Processing failed repeatedly; try uploading again")
            if video.upload_id is not None:
                await _discard_upload(database, storage, settings, video.upload_id)
            return
        raise  # the job runner retries with backoff
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


def _names(ladder: str) -> set[str]:
    return {name.strip() for name in ladder.split(",") if name.strip()}


async def _discard_upload(database: Database, storage: Storage, settings: Settings, upload_id: int) -> None:
    """A failed video's upload is of no further use: the creator uploads again."""
    async with database.transaction() as db:
        upload = await db.get(Upload, upload_id)
        if upload is not None:
            await db.delete(upload)
    await remove_bytes(storage, settings.var_dir, upload_id)


async def _run(database: Database, storage: Storage, settings: Settings, *, video_id: int, source: Path,
               work: Path, cover_ms: int, max_seconds: float) -> None:
    facts = await _in_process(settings, probe.probe, source)
    probe.validate(facts, probe.Limits(max_duration=max_seconds))
    await _set(database, video_id, status=TRANSCODING, duration_ms=round(facts.duration * 1000),
               width=facts.display_width, height=facts.display_height)
    mp4_names, hls_names = _names(settings.mp4_renditions), _names(settings.hls_renditions)
    ladder = transcode.plan_ladder(facts)
    # The lowest rung is always made and kept as an MP4: it is what plays first, on any network.
    wanted = [r for i, r in enumerate(ladder) if i == 0 or r.name in mp4_names | hls_names]
    for_hls: list[tuple[transcode.Rendition, Path]] = []
    for index, rendition in enumerate(wanted):  # lowest first
        mp4 = await _in_process(settings, transcode.transcode_mp4, source, work / f"{rendition.name}.mp4", rendition)
        if index == 0 or rendition.name in mp4_names:
            await _store(database, storage, video_id, mp4, kind="mp4", name=rendition.name, content_type="video/mp4",
                         width=rendition.width, height=rendition.height, bit_rate=rendition.bit_rate)
        if rendition.name in hls_names:
            for_hls.append((rendition, mp4))
        if index == 0:  # published as soon as one rendition and its cover exist
            await _store_poster(database, storage, settings, video_id, source, work, facts.duration, cover_ms)
            await _set(database, video_id, playable_at=clock.utcnow())
    hls_dir = work / "hls"
    lowest = (wanted[0], work / f"{wanted[0].name}.mp4")
    master = await _in_process(settings, transcode.package_hls, for_hls or [lowest], hls_dir)
    for path in sorted(hls_dir.rglob("*")):
        if path.is_file():
            rel = path.relative_to(hls_dir)
            key = f"{storage_prefix(video_id)}hls/{rel.as_posix()}"
            content_type = "application/vnd.apple.mpegurl" if path.suffix == ".m3u8" else "video/mp2t"
            await storage.put_file(key, path, content_type=content_type)
    master_size = (await asyncio.to_thread(master.stat)).st_size
    async with database.transaction() as db:
        await db.execute(delete(VideoFile).where(VideoFile.video_id == video_id, VideoFile.kind == "hls"))
        db.add(VideoFile(video_id=video_id, kind="hls", name="master", size_bytes=master_size,
                         key=f"{storage_prefix(video_id)}hls/master.m3u8"))
    sheet = work / "sprite.jpg"  # from the lowest rung: upright already, short GOPs, cheap seeks
    sprite = await _in_process(settings, poster.make_sprite, lowest[1], sheet, facts.duration)
    await _store(database, storage, video_id, sheet, kind="sprite", name="sprite", content_type="image/jpeg",
                 width=sprite.tile_width, height=sprite.tile_height)
    if settings.keep_original_uploads:
        await storage.put_file(f"{storage_prefix(video_id)}original", source, content_type="application/octet-stream")
    async with database.transaction() as db:
        video = await db.get(Video, video_id)
        if video is None or video.status == DELETED:
            return
        video.status, video.ready_at, video.updated_at = READY, clock.utcnow(), clock.utcnow()
        video.failure_code = video.failure_reason = None
        await jobs.publish(db, "video.ready", {"video_id": str(video_id), "owner_id": str(video.owner_id),
                                               "purpose": video.purpose})
        upload = await db.get(Upload, video.upload_id) if video.upload_id else None
        upload_id = upload.id if upload is not None else None
        if upload is not None:
            await db.delete(upload)
    if upload_id is not None:  # the upload's bytes, here and staged: consumed now
        await remove_bytes(storage, settings.var_dir, upload_id)


async def _store_poster(database: Database, storage: Storage, settings: Settings, video_id: int, source: Path,
                        work: Path, duration: float, cover_ms: int) -> None:
    cover = work / "poster.jpg"
    width, height = await _in_process(settings, poster.make_poster, source, cover,
                                      min(cover_ms / 1000, max(0.0, duration - 0.1)))
    await _store(database, storage, video_id, cover, kind="poster", name="poster", content_type="image/jpeg",
                 width=width, height=height)


async def delete_files(database: Database, storage: Storage, *, video_id: int) -> None:
    """Remove every stored file of a deleted video. Idempotent."""
    await storage.delete_prefix(storage_prefix(video_id))
    async with database.transaction() as db:
        await db.execute(delete(VideoFile).where(VideoFile.video_id == video_id))
