"""Resumable uploads (tus 1.0 core + creation + termination).

Bytes go to a `.part` file under `{var_dir}/uploads`; the database row's `offset` is the truth.
A PATCH that crashed after writing but before committing leaves extra bytes on disk: the next
PATCH cuts the file back to the committed offset, and the client (which asked HEAD for the
offset) resends them. Oversized bodies are refused while streaming, never buffered whole.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import shutil
import unicodedata
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock, jobs
from shua.core.db import Database
from shua.core.errors import Conflict, NotFound, ShuaError
from shua.core.ids import new_id, parse_id
from shua.core.storage import LocalStorage, Storage
from shua.media.models import Upload, Video


class UploadNotFound(NotFound):
    code = "media.upload_not_found"
    title = "No such upload"


class UploadTooLarge(ShuaError):
    code = "media.upload_too_large"
    status = 413
    title = "The file is larger than allowed"


class UploadOffsetMismatch(Conflict):
    code = "media.upload_offset_mismatch"
    title = "The chunk does not start where the upload stands; ask for the offset and resume"


class UploadBusy(Conflict):
    code = "media.upload_busy"
    title = "Another chunk of this upload is being received"


class UploadExpired(ShuaError):
    code = "media.upload_expired"
    status = 410
    title = "This upload expired; start again"




def part_path(var_dir: Path, upload_id: int) -> Path:
    return var_dir / "uploads" / f"{upload_id}.part"


def clean_filename(raw: str) -> str:
    """Keep only a display name: no directories (`../`), no control characters, bounded length."""
    name = re.split(r"[\\/]", raw)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".")
    return name[:200]


async def create_upload(
    db: AsyncSession, *, owner_id: int, length: int, filename: str, content_type: str,
    max_bytes: int, ttl: timedelta, var_dir: Path,
) -> Upload:
    """Announce an upload of `length` bytes; chunks follow with PATCH."""
    if length > max_bytes:
        raise UploadTooLarge(f"The limit is {max_bytes} bytes", limit=max_bytes)
    now = clock.utcnow()
    upload = Upload(
        id=new_id(), owner_id=owner_id, length=length, offset=0, filename=clean_filename(filename),
        content_type=content_type[:100], created_at=now, expires_at=now + ttl,
    )
    db.add(upload)
    path = part_path(var_dir, upload.id)
    await asyncio.to_thread(_create_part_file, path)
    await jobs.enqueue(db, "media.expire_upload", {"upload_id": str(upload.id)}, run_at=upload.expires_at)
    return upload


async def import_file(
    db: AsyncSession, *, owner_id: int, source: Path, var_dir: Path, ttl: timedelta, content_type: str = "video/mp4",
) -> Upload:
    """A completed upload from a file already on this machine (demo content, operator imports)."""
    size = (await asyncio.to_thread(source.stat)).st_size
    now = clock.utcnow()
    upload = Upload(
        id=new_id(), owner_id=owner_id, length=size, offset=size, filename=clean_filename(source.name),
        content_type=content_type, created_at=now, expires_at=now + ttl, completed_at=now,
    )
    db.add(upload)
    path = part_path(var_dir, upload.id)
    await asyncio.to_thread(_create_part_file, path)
    await asyncio.to_thread(shutil.copyfile, source, path)
    await jobs.enqueue(db, "media.expire_upload", {"upload_id": str(upload.id)}, run_at=upload.expires_at)
    return upload


async def get_upload(db: AsyncSession, *, owner_id: int, upload_id: object) -> Upload:
    """The caller's own upload; anyone else's is reported as not found."""
    parsed = parse_id(upload_id)
    upload = await db.get(Upload, parsed) if parsed else None
    if upload is None or upload.owner_id != owner_id:
        raise UploadNotFound()
    if upload.completed_at is None and upload.expires_at <= clock.utcnow():
        raise UploadExpired()
    return upload


def _create_part_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def _rewind(handle: BinaryIO, offset: int) -> None:
    handle.truncate(offset)
    handle.seek(offset)


def _sync(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())  # the bytes are on disk before the offset that claims them commits


def _lock(handle: BinaryIO) -> None:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # across processes, too
    except BlockingIOError as exc:
        raise UploadBusy() from exc


def staged_key(upload_id: int) -> str:
    """Where a finished upload waits in object storage for a worker on another host."""
    return f"uploads/{upload_id}"


async def remove_bytes(storage: Storage, var_dir: Path, upload_id: int) -> None:
    """Delete an upload's bytes, on this host's disk and staged in storage. Idempotent."""
    await asyncio.to_thread(part_path(var_dir, upload_id).unlink, True)
    if not isinstance(storage, LocalStorage):
        await storage.delete(staged_key(upload_id))


async def append_chunk(
    database: Database, *, owner_id: int, upload_id: int, offset: int, chunks: AsyncIterator[bytes],
    var_dir: Path, storage: Storage | None = None,
) -> Upload:
    """Write the chunk that starts at `offset`; commit the new offset, even for a cut-off chunk.

    With object storage, the last chunk's request also copies the finished file there before the
    upload is marked complete: the worker that transcodes it may run on another host, and no
    video can be posted from an upload whose bytes are not yet where every worker can read them.
    """
    async with database.transaction(write=False) as db:
        upload = await get_upload(db, owner_id=owner_id, upload_id=upload_id)
    if offset != upload.offset:
        raise UploadOffsetMismatch(expected=upload.offset, got=offset)
    path = part_path(var_dir, upload.id)
    handle = await asyncio.to_thread(open, path, "r+b")
    received = 0
    try:
        await asyncio.to_thread(_lock, handle)
        await asyncio.to_thread(_rewind, handle, offset)
        # A client that goes away mid-chunk ends `chunks` early: what arrived is kept and committed.
        async for chunk in chunks:
            if offset + received + len(chunk) > upload.length:
                await asyncio.to_thread(handle.truncate, offset)
                raise UploadTooLarge("The chunk goes past the announced length", length=upload.length)
            await asyncio.to_thread(handle.write, chunk)
            received += len(chunk)
        await asyncio.to_thread(_sync, handle)
        new_offset = offset + received
        completed_at = clock.utcnow() if new_offset == upload.length else None
        staging = completed_at is not None and storage is not None and not isinstance(storage, LocalStorage)
        if staging:
            assert storage is not None
            await storage.put_file(staged_key(upload.id), path, content_type=upload.content_type or "video/mp4")
        async with database.transaction() as db:
            result = await db.execute(
                update(Upload).where(Upload.id == upload.id, Upload.offset == offset)
                .values(offset=new_offset, completed_at=completed_at)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 1) != 1:
                raise UploadOffsetMismatch()
            if completed_at is not None:
                await jobs.publish(db, "media.upload_completed",
                                   {"upload_id": str(upload.id), "owner_id": str(owner_id)})
        upload.offset, upload.completed_at = new_offset, completed_at
    finally:
        await asyncio.to_thread(handle.close)  # closing releases the lock
    if staging:
        await asyncio.to_thread(path.unlink, True)  # the staged copy is the one workers read
    return upload


async def delete_upload(db: AsyncSession, storage: Storage, *, owner_id: int, upload_id: object,
                        var_dir: Path) -> None:
    """Abandon an upload and its bytes (tus termination)."""
    parsed = parse_id(upload_id)
    upload = await db.get(Upload, parsed) if parsed else None
    if upload is None or upload.owner_id != owner_id:
        raise UploadNotFound()
    await db.delete(upload)
    await remove_bytes(storage, var_dir, upload.id)


async def expire_upload(db: AsyncSession, storage: Storage, *, upload_id: int, var_dir: Path) -> bool:
    """Drop an upload that was never posted as a video (finished or not). Idempotent."""
    upload = await db.get(Upload, upload_id)
    if upload is None or await db.scalar(select(Video.id).where(Video.upload_id == upload_id)) is not None:
        return False
    await db.delete(upload)
    await remove_bytes(storage, var_dir, upload_id)
    return True
