"""Public files from storage (avatars). Video playback arrives with the media context."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from shua.core.errors import NotFound
from shua.core.storage import InvalidKey
from shua.web.deps import get_runtime

router = APIRouter(tags=["media"])
PUBLIC_PREFIXES = ("avatars/",)


@router.get("/media/{key:path}", response_class=Response, responses={404: {"description": "No such file"}})
async def read_media(request: Request, key: Annotated[str, Path(max_length=300)]) -> Response:
    """A public stored file. Keys are immutable, so they cache forever."""
    if not key.startswith(PUBLIC_PREFIXES):
        raise NotFound()
    try:
        data = await get_runtime(request).storage.get(key)
    except InvalidKey as exc:
        raise NotFound() from exc
    if data is None:
        raise NotFound()
    return Response(data, media_type="image/jpeg",
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})
