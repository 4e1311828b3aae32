"""Anchor app for bench/transcode.py: a bare Starlette app that serves one file with
FileResponse (Range/206 handled by Starlette), run with `uvicorn --app-dir bench` exactly like
Shua. The file is named by the BENCH_MEDIA_FILE environment variable; it answers `GET /file`
with the same headers Shua's playback route sets, and `GET /healthz`.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Route

MEDIA_FILE = os.environ.get("BENCH_MEDIA_FILE", "")


async def media(request: Request) -> FileResponse:
    return FileResponse(
        MEDIA_FILE,
        media_type="video/mp4",
        headers={"Cache-Control": "public, max-age=86400", "Accept-Ranges": "bytes"},
    )


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/file", media), Route("/healthz", healthz)])
