"""Public files from storage (avatars). Video playback arrives with the media context.

Local storage: the app serves the bytes. Object storage: the app redirects to the object's URL
(the CDN's, or a presigned one), so API processes never proxy media bytes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse

from shua.core.errors import NotFound, ShuaError
from shua.core.storage import InvalidKey, LocalStorage, Storage
from shua.web.deps import get_runtime

router = APIRouter(tags=["media"])
PUBLIC_PREFIXES = ("avatars/",)
# Shorter than any presigned URL lives (SHUA_S3_PRESIGN_SECONDS ≥ 120), so a cached redirect
# never points at an expired signature.
REDIRECT_MAX_AGE = 60


@router.get("/media/{key:path}", response_class=Response,
            responses={307: {"description": "The file is on object storage: fetch it there"},
                       404: {"description": "No such file"}})
async def read_media(request: Request, key: Annotated[str, Path(max_length=300)]) -> Response:
    """A public stored file. Keys are immutable, so they cache forever."""
    if not key.startswith(PUBLIC_PREFIXES):
        raise NotFound()
    storage = get_runtime(request).storage
    try:
        url = storage.url(key)
        data = None if url else await storage.get(key)
    except InvalidKey as exc:
        raise NotFound() from exc
    if url:
        return RedirectResponse(url, headers={"Cache-Control": f"private, max-age={REDIRECT_MAX_AGE}"})
    if data is None:
        raise NotFound()
    return Response(data, media_type="image/jpeg",
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})


async def access_checked_photo(storage: Storage, key: str, *, cache: str, missing: ShuaError) -> Response:
    """A JPEG the caller has already checked the viewer may see (a daily post's, a shop photo).
    Local storage: the bytes, cached as `cache` says. Object storage: a redirect to a URL signed
    for 5 minutes, itself cached for at most REDIRECT_MAX_AGE so no browser keeps an expired one."""
    if not isinstance(storage, LocalStorage):
        url = storage.url(key, expires_in=300)
        return RedirectResponse(url or "/", status_code=307,
                                headers={"Cache-Control": f"private, max-age={REDIRECT_MAX_AGE}"})
    data = await storage.get(key)
    if data is None:
        raise missing
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": cache})
