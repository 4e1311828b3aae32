"""`shua doctor`: each check says what it found, and when something is wrong, what to do."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable

from rich.console import Console

from shua.config import Settings


async def _database(settings: Settings) -> str:
    from sqlalchemy import text

    from shua.core.db import Database

    database = Database(settings.effective_database_url)
    try:
        async with database.transaction(write=False) as db:
            version = await db.scalar(text(
                "select sqlite_version()" if database.is_sqlite else "show server_version"))
            try:
                revision = await db.scalar(text("select version_num from alembic_version"))
            except Exception as exc:
                raise RuntimeError("the schema is missing: run `shua migrate`") from exc
        kind = "SQLite" if database.is_sqlite else "PostgreSQL"
        return f"{kind} {version}, schema revision {revision}"
    finally:
        await database.dispose()


async def _redis(settings: Settings) -> str:
    if not settings.redis_url:
        return "not configured (embedded mode: rate limits and jobs in process)"
    import redis.asyncio as aioredis

    client = aioredis.from_url(settings.redis_url, socket_connect_timeout=3)
    try:
        info = await client.info("server")
        return f"Redis {info.get('redis_version')}"
    except Exception as exc:
        raise RuntimeError(f"cannot reach {settings.redis_url} ({exc}); is redis-server running?") from exc
    finally:
        await client.aclose()


async def _storage(settings: Settings) -> str:
    from shua.runtime import build_storage

    storage = build_storage(settings)
    try:
        await storage.check()
    finally:
        await storage.close()
    if settings.s3_bucket:
        where = settings.s3_endpoint_url or "AWS S3"
        links = f"public URLs under {settings.s3_public_base_url}" if settings.s3_public_base_url else (
            f"presigned URLs valid {settings.s3_presign_seconds} s")
        return f"S3 bucket {settings.s3_bucket!r} at {where} is reachable and writable ({links})"
    root = settings.effective_media_dir
    free_gb = shutil.disk_usage(root).free / 1e9
    if free_gb < 1:
        raise RuntimeError(f"only {free_gb:.2f} GB free under {root}: uploads will fail")
    return f"local disk {root.resolve()} ({free_gb:.0f} GB free)"


async def _video(_settings: Settings) -> str:
    try:
        import av
    except ImportError as exc:
        raise RuntimeError("PyAV is not installed: run `make demo` or `pip install av`") from exc
    missing = [name for name in ("libx264", "aac") if name not in av.codecs_available]
    if missing:
        raise RuntimeError(f"the FFmpeg build lacks encoders {missing}: reinstall the PyAV wheel")
    return f"PyAV {av.__version__} with FFmpeg {av.library_versions['libavcodec']} (libx264, aac)"


async def _secret(settings: Settings) -> str:
    import os

    if "SHUA_SECRET_KEY" in os.environ:
        return "SHUA_SECRET_KEY is set"
    return "random per process (fine for one process; set SHUA_SECRET_KEY when running several)"


CHECKS: list[tuple[str, Callable[[Settings], Awaitable[str]]]] = [
    ("database", _database), ("redis", _redis), ("storage", _storage), ("video", _video), ("secret key", _secret),
]


async def run_checks(settings: Settings, console: Console) -> bool:
    ok = True
    for name, check in CHECKS:
        try:
            console.print(f"[green]✓[/] {name:10} {await check(settings)}")
        except Exception as exc:
            ok = False
            console.print(f"[red]✗[/] {name:10} {exc}")
    console.print("[green]all good[/]" if ok else "[red]some checks failed: see above[/]")
    return ok
