"""Resumable uploads over the tus 1.0 protocol (core, creation, termination).

A client: POST /api/v1/uploads with `Upload-Length` → 201 + Location; then PATCH chunks with
`Upload-Offset` and `Content-Type: application/offset+octet-stream`; after an interruption,
HEAD tells the offset to resume from. Every request carries `Tus-Resumable: 1.0.0`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response, status
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from shua.core.errors import InvalidRequest, ShuaError, UnsupportedMediaType
from shua.core.ids import ID
from shua.media import uploads
from shua.web.deps import DB, CurrentAuth, RuntimeDep, StreamingAuth

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
        chunks=body(), var_dir=runtime.settings.var_dir,
    )
    return Response(status_code=204, headers=_tus_headers(**{"Upload-Offset": str(upload.offset)}))


@router.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def delete_upload(upload_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep,
                        tus_resumable: Annotated[str | None, Header()] = None) -> Response:
    """Abandon an upload (tus termination)."""
    _require_tus(tus_resumable)
    await uploads.delete_upload(db, owner_id=auth.user.id, upload_id=upload_id, var_dir=runtime.settings.var_dir)
    return Response(status_code=204, headers=_tus_headers())
