"""Rate limits on a moving window: in process for the embedded app, Redis when configured
(so every API process shares one budget)."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from shua.core.errors import RateLimited


class RateLimiter:
    def __init__(self, redis_url: str = "") -> None:
        self.storage: Storage = (
            RedisStorage("async+" + redis_url, implementation="redispy", key_prefix="shua:limits")
            if redis_url else MemoryStorage()
        )
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def hit(self, rate: str, *keys: str, message: str | None = None) -> None:
        """Count one hit; raise RateLimited (429 + Retry-After) when over the budget."""
        item = parse(rate)
        if not await self.limiter.hit(item, *keys):
            stats = await self.limiter.get_window_stats(item, *keys)
            raise RateLimited(math.ceil(max(1.0, stats.reset_time - time.time())), message)

    async def test(self, rate: str, *keys: str) -> bool:
        return await self.limiter.test(parse(rate), *keys)

    async def clear(self, rate: str, *keys: str) -> None:
        await self.limiter.clear(parse(rate), *keys)

    async def reset(self) -> None:
        await self.storage.reset()

    async def close(self) -> None:
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        if client is not None and hasattr(client, "aclose"):
            await client.aclose()
