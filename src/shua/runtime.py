"""The process's shared services, built once from Settings by the app factory or the CLI."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from shua.config import Settings
from shua.core import ids, security
from shua.core.db import Database
from shua.core.live import LiveHub
from shua.core.ratelimit import RateLimiter
from shua.core.storage import LocalStorage, S3Config, S3Storage, Storage


@dataclass
class Runtime:
    settings: Settings
    database: Database
    storage: Storage
    limiter: RateLimiter
    live: LiveHub = field(default_factory=LiveHub)  # live updates to open pages (core/live.py)
    extras: dict[str, object] = field(default_factory=dict)

    async def close(self) -> None:
        await self.live.close()  # first: events already committed still go out
        for extra in self.extras.values():  # contexts' process-wide services (the feed's caches)
            closer = getattr(extra, "close", None)
            if closer is not None:
                await closer()
        await self.database.dispose()
        await self.limiter.close()
        await self.storage.close()


_current: Runtime | None = None


def _persistent_secret(settings: Settings) -> None:
    """Without SHUA_SECRET_KEY, keep one in ./var so restarts and sibling processes agree."""
    if "secret_key" in settings.model_fields_set or os.environ.get("SHUA_SECRET_KEY"):
        return
    path = settings.var_dir / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(settings.secret_key)
    settings.secret_key = path.read_text().strip() or settings.secret_key


def build_storage(settings: Settings) -> Storage:
    """S3 when a bucket is configured, else files under the media directory."""
    if not settings.s3_bucket:
        return LocalStorage(settings.effective_media_dir)
    return S3Storage(S3Config(
        bucket=settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url or None,
        region=settings.s3_region or None,
        access_key_id=settings.s3_access_key_id or None,
        secret_access_key=settings.s3_secret_access_key or None,
        public_base_url=settings.s3_public_base_url or None,
        presign_seconds=settings.s3_presign_seconds,
    ))


def search_words_path(settings: Settings) -> Path:
    """The operators' user dictionary for search: one word per line (`shua search words add`)."""
    return settings.var_dir / "search" / "words.txt"


def _load_search_words(settings: Settings) -> None:
    from shua.search.analysis import load_user_dictionary

    load_user_dictionary(search_words_path(settings))


def build(settings: Settings) -> Runtime:
    global _current
    ids.configure(settings.node_id)
    security.configure_hashing(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    _persistent_secret(settings)
    _load_search_words(settings)
    runtime = Runtime(
        settings=settings,
        database=Database(settings.effective_database_url, null_pool=settings.database_null_pool,
                          pool_size=settings.database_pool_size),
        storage=build_storage(settings),
        limiter=RateLimiter(settings.redis_url),
        live=LiveHub(settings.redis_url, queue_size=settings.live_queue_size,
                     per_user=settings.live_connections_per_user),
    )
    _current = runtime
    return runtime


def current() -> Runtime:
    """The runtime of this process (jobs use it to reach storage and settings)."""
    if _current is None:
        raise RuntimeError("shua.runtime.build() has not been called in this process")
    return _current
