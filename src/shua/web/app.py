"""The ASGI app factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from shua import __version__, runtime
from shua.config import Settings, get_settings
from shua.contexts import load_all
from shua.core import jobs
from shua.core.logging import configure_logging
from shua.core.loop import freeze_startup_objects
from shua.web import errors
from shua.web.api import include_routers
from shua.web.middleware import BodyLimitMiddleware, RequestContextMiddleware, SecurityHeadersMiddleware

STATIC_DIR = Path(__file__).parent / "client" / "static"


def create_app(settings: Settings | None = None, *, configure_logs: bool = True) -> FastAPI:
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(json=settings.log_json, level=settings.log_level)
    load_all()
    rt = runtime.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker_task = None
        worker = None
        if settings.run_jobs_in_process:
            broker = jobs.make_broker(rt.database, settings.redis_url, settings.job_poll_seconds)
            worker = jobs.Worker(rt.database, broker, concurrency=2)
            worker_task = asyncio.create_task(worker.run(), name="shua-worker")
        try:
            yield
        finally:
            if worker is not None and worker_task is not None:
                worker.stop()
                worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
            await rt.close()

    app = FastAPI(
        title="Shua API", version=__version__, lifespan=lifespan, docs_url="/docs", redoc_url=None,
        description="Shua (刷): short videos, friends, shop and pay. Errors are RFC 9457 problem+json "
        "with a stable `code`. Cookie-authenticated writes need `X-CSRF-Token`; API clients use "
        "`Authorization: Bearer <token>` from a login with `session_kind: api`.",
    )
    app.state.runtime = rt
    errors.install(app)
    include_routers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Outermost last: request context wraps everything, so even a 413 carries a request id.
    app.add_middleware(BodyLimitMiddleware, default=settings.max_body_bytes,
                       overrides=[("/api/v1/me/avatar", settings.max_avatar_bytes + 64 * 1024),
                                  ("/api/v1/uploads/", settings.max_upload_chunk_bytes)])
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.cookie_secure)
    app.add_middleware(RequestContextMiddleware)
    return app


def app_from_env() -> FastAPI:
    """uvicorn --factory entry point (a serving process: it lives as long as its app)."""
    app = create_app()
    freeze_startup_objects()
    return app
