"""What each viewer has been served lately, so the next page (and the next session) brings no
repeats. In process for the embedded app; a Redis sorted set per viewer at scale, shared by every
API process. The client's impression events (the event log) are the long-term record; this is
the fast, short-term one that also covers pages the client never reported."""

from __future__ import annotations

import time
from collections import OrderedDict
from threading import Lock

KEEP = 2000  # ids per viewer
TTL_SECONDS = 7 * 86400


class SeenCache:
    def __init__(self, redis_url: str = "") -> None:
        self._redis = None
        if redis_url:
            import redis.asyncio as redis

            self._redis = redis.from_url(redis_url)
        self._local: OrderedDict[str, OrderedDict[int, float]] = OrderedDict()
        self._lock = Lock()

    @staticmethod
    def _key(viewer: str) -> str:
        return f"shua:feed:seen:{viewer}"

    async def add(self, viewer: str, video_ids: list[int]) -> None:
        if not video_ids:
            return
        now = time.time()
        if self._redis is not None:
            key = self._key(viewer)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(key, {str(v): now for v in video_ids})
                pipe.zremrangebyrank(key, 0, -KEEP - 1)
                pipe.expire(key, TTL_SECONDS)
                await pipe.execute()
            return
        with self._lock:
            seen = self._local.setdefault(viewer, OrderedDict())
            self._local.move_to_end(viewer)
            for video_id in video_ids:
                seen[video_id] = now
                seen.move_to_end(video_id)
            while len(seen) > KEEP:
                seen.popitem(last=False)
            while len(self._local) > 100_000:  # viewers: the least recently served go first
                self._local.popitem(last=False)

    async def get(self, viewer: str) -> set[int]:
        cutoff = time.time() - TTL_SECONDS
        if self._redis is not None:
            members = await self._redis.zrangebyscore(self._key(viewer), cutoff, "+inf")
            return {int(m) for m in members if isinstance(m, bytes | str)}
        with self._lock:
            seen = self._local.get(viewer)
            return {v for v, at in seen.items() if at >= cutoff} if seen else set()

    async def clear(self, viewer: str) -> None:
        if self._redis is not None:
            await self._redis.delete(self._key(viewer))
        with self._lock:
            self._local.pop(viewer, None)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
